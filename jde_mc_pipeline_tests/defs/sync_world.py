"""The sync world of the Dagster tests: both emulators, the resources pointing at them (built with values,
not environment variables), a Dagster instance, and a runner for the jobs over a partition range.

An ordinary module, not a conftest: the fixtures (defs/conftest.py), the fault soak (soak.py) and the
benchmarks (benchmarks/fault_soak.py) build on it. The JDE emulator's clock is put at `SYNC_DAY`, three
days after the first partition, and its demo data is generated relative to that day, so a run over
`START_DATE ... SYNC_DAY` covers the whole demo history in four partitions, whatever the real date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.definitions import build_definitions
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.defs.run_tags import RANGE_END_TAG, RANGE_START_TAG
from jde_mc_pipeline.defs.staging import StagedFrameIOManager
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer
from jde_mc_pipeline_tests.deployment import DEPLOYMENT, START_DATE

SYNC_DAY = START_DATE + dt.timedelta(days=3)
"""JDE's 'today' in these tests: the last partition of the initial load."""
DEMO_PARTIES = 300


def world_resources(
    jde: JdeEmulatorServer, mailchimp: MailchimpEmulatorServer, audit_path: str, staging_dir: str
) -> dict[str, Any]:
    """The resources of the code location on the two emulators and files of the test, with Mailchimp
    retries short enough that a run against a Mailchimp faulting at 100 % ends in seconds."""
    return {
        "jde": JdeAisResource(base_url=jde.url, username="JDE", password="JDE", environment="JDV920"),
        "mailchimp": MailchimpResource(
            api_key=mailchimp.api_key,
            api_url=mailchimp.api_url,
            list_id=mailchimp.list_id,
            max_attempts=2,
            max_retry_seconds=3,
        ),
        "audit": AuditStoreResource(path=audit_path),
        "sync_settings": SyncSettingsResource(),
        "staging": StagedFrameIOManager(base_dir=staging_dir),
    }


def changed(resource: Any, **fields: Any) -> Any:
    """A copy of a resource with some fields changed (resources are immutable)."""
    return type(resource)(
        **{**{name: getattr(resource, name) for name in type(resource).model_fields}, **fields}
    )


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    """(asset key, check name) → the evaluation, for every check the run evaluated."""
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            found[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation
    return found


@dataclass
class SyncWorld:
    """The two emulators, the paths the runs write to, the resources, and a way to run the jobs."""

    jde: JdeEmulatorServer
    mailchimp: MailchimpEmulatorServer
    audit_path: str
    staging_dir: str
    instance: dg.DagsterInstance
    resources: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.resources = self.resources or world_resources(
            self.jde, self.mailchimp, self.audit_path, self.staging_dir
        )

    @property
    def store(self) -> AuditStore:
        return AuditStore(self.audit_path)

    @property
    def definitions(self) -> dg.Definitions:
        return build_definitions(DEPLOYMENT, self.resources)

    def configure(self, name: str, **fields: Any) -> None:
        """Change fields of one resource for the next runs (as a deployment's environment would)."""
        self.resources[name] = changed(self.resources[name], **fields)

    def run(
        self, first: dt.date = START_DATE, last: dt.date = SYNC_DAY, *, job: str = SYNC_JOB, **kwargs: Any
    ) -> dg.ExecuteInProcessResult:
        """Execute `job` in-process over partitions [first, last] (one run)."""
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        return self.definitions.resolve_job_def(job).execute_in_process(
            instance=self.instance, tags=tags, raise_on_error=False, **kwargs
        )

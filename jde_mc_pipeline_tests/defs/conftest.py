"""Fixtures of the Dagster tests: both emulators as real servers, the environment the resources read,
a Dagster test instance, and a runner for the job `jde_to_mailchimp_sync` over a partition range.

`JDE_START_DATE` must be set before the partitions module is imported; when nothing set it, it is
three days before today here. Every test derives its dates from `START_DATE` (another folder's
conftest may have set a different date first): the JDE emulator's clock is put at `SYNC_DAY`, three
days after the first partition, and its demo data is generated relative to that day, so a run over
`START_DATE ... SYNC_DAY` covers the whole demo history in four partitions, whatever the real date.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("JDE_START_DATE", (dt.date.today() - dt.timedelta(days=3)).isoformat())

import dagster as dg
import pytest

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.partitions import START_DATE
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer

SYNC_DAY = START_DATE + dt.timedelta(days=3)
"""JDE's 'today' in these tests: the last partition of the initial load."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
DEMO_PARTIES = 300

FAST_RETRIES = {"JDE_MC_MAILCHIMP_MAX_ATTEMPTS": "2", "JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS": "3"}
"""Short Mailchimp retries: a run against a Mailchimp that faults at 100 % ends in seconds."""


@dataclass
class SyncWorld:
    """The two emulators, the paths the run writes to, and a way to run the job."""

    jde: JdeEmulatorServer
    mailchimp: MailchimpEmulatorServer
    audit_path: str
    instance: dg.DagsterInstance

    @property
    def store(self) -> AuditStore:
        return AuditStore(self.audit_path)

    def run(
        self, first: dt.date = START_DATE, last: dt.date = SYNC_DAY, **kwargs: Any
    ) -> dg.ExecuteInProcessResult:
        """Execute `jde_to_mailchimp_sync` in-process over partitions [first, last] (one run)."""
        from jde_mc_pipeline.definitions import defs

        job = defs.resolve_job_def("jde_to_mailchimp_sync")
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        return job.execute_in_process(instance=self.instance, tags=tags, raise_on_error=False, **kwargs)


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sync_world(
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
    jde_emulator_factory: Callable[..., JdeEmulatorServer],
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
    dagster_instance: dg.DagsterInstance,
) -> SyncWorld:
    """Demo JDE data (300 parties, clock at noon of SYNC_DAY) and an empty Mailchimp audience, with every
    variable the resources read pointing at them and at files in tmp_path."""
    jde = jde_emulator_factory(
        demo=DEMO_PARTIES, seed=11, clock=ManualClock(dt.datetime.combine(SYNC_DAY, dt.time(12)))
    )
    mailchimp = mailchimp_emulator_factory(seed=7, batch_step_seconds=0.02)
    audit_path = str(tmp_path / "audit_trail.duckdb")
    env = {
        "JDE_AIS_URL": jde.url,
        "JDE_USERNAME": "JDE",
        "JDE_PASSWORD": "JDE",
        "JDE_ENVIRONMENT": "JDV920",
        "JDE_TIMEZONE": "UTC",
        "MAILCHIMP_API_KEY": mailchimp.api_key,
        "MAILCHIMP_API_URL": mailchimp.api_url,
        "MAILCHIMP_LIST_ID": mailchimp.list_id,
        "JDE_MC_AUDIT_DB": audit_path,
        "JDE_MC_STAGING_DIR": str(tmp_path / "staging"),
        **FAST_RETRIES,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MAILCHIMP_STORE_ID", raising=False)
    return SyncWorld(jde, mailchimp, audit_path, dagster_instance)

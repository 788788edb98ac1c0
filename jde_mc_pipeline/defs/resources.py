"""The resources of the code location, built from the environment when the definitions load.

Every resource is a settings model of jde_mc_pipeline/settings/ (its fields, its variables, its plain
client) with Dagster's resource machinery added; the credentials and the audience are given to Dagster as
`dg.EnvVar`s (resolved when a run launches, shown by name in the UI). The `jde-mc` commands read the
same models with the secrets as values (settings/connector.py `Connector`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import dagster as dg

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.store import RUN_FAILED
from jde_mc_pipeline.defs.run_tags import HOST_TAG, this_host
from jde_mc_pipeline.defs.staging import StagedFrameIOManager
from jde_mc_pipeline.settings.environment import OPTIONAL_SECRETS, SECRETS, env_text, from_env
from jde_mc_pipeline.settings.mapping import MappingSettings
from jde_mc_pipeline.settings.systems import AuditSettings, JdeSettings, MailchimpSettings
from jde_mc_pipeline.sync.stages import close_run


class JdeAisResource(dg.ConfigurableResource, JdeSettings):
    """JD Edwards AIS: `with resource.client() as ais:` is one polling cycle (one token, logged out at
    the end)."""


class MailchimpResource(dg.ConfigurableResource, MailchimpSettings):
    """Mailchimp Marketing API: builds a pooled `MailchimpClient` for the audience and store."""


class SyncSettingsResource(dg.ConfigurableResource, MappingSettings):
    """How JDE parties become Mailchimp records (docs/mapping.md, Options) and when the checks warn.

    None is a secret, so a run can change any of them in the Launchpad
    (`resources: {sync_settings: {config: {...}}}`), e.g. `on_leave: archive` for one run, or
    `blank_clears: true` for a clean-up.
    """


class AuditStoreResource(dg.ConfigurableResource, AuditSettings):
    """The audit trail (DuckDB file, or PostgreSQL with `JDE_MC_AUDIT_URL`, given as an `EnvVar`: the UI
    shows its name, not the password), and what a run's steps need besides the store.

    Why not dagster-duckdb's `DuckDBResource`: it always opens read-write (the dry run must read a file
    without writing it) and it does not close the connection in `finally`, so a failing in-process step
    keeps the file's lock; `AuditStore` opens a short, lock-retrying connection per batch of rows and
    always closes it (audit/store.py).
    """

    def open_run(
        self,
        store: AnyAuditStore,
        context: dg.AssetExecutionContext,
        partitions: tuple[str, str],
        window: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Open the run's row in `sync_runs`, after closing as `interrupted` the rows of runs that died.

        The extract step opens the row with its UPMJ `window` (replacing the row of an earlier attempt).
        A Mailchimp step opens it only when the run has none: a re-execution (a run retry after a crash,
        or "Re-execute from failure" in the UI) runs the Mailchimp steps on the frames its parent
        extracted, so its row names that parent (`parent_run_id`), and its outcomes are its own.
        The run's host tag says which machine executes it now (jde_dead_run_sensor judges only its own).
        """
        run = context.run
        context.instance.add_run_tags(run.run_id, {HOST_TAG: this_host()})
        for interrupted in _close_interrupted(store, context.instance):
            context.log.warning(f"run {interrupted} died without closing its sync_runs row: interrupted")
        if window is None and store.has_run(run.run_id):
            return
        store.start_run(run.run_id, context.job_name, *partitions, window, parent_run_id=run.parent_run_id)

    @contextmanager
    def closing_run(self, run_id: str) -> Iterator[AnyAuditStore]:
        """The store, for a step of run `run_id`: when the step raises, the run's row in `sync_runs` is
        closed as `failed` (with the outcomes recorded so far) before the error goes on.

        Why in the steps and not a job hook: a run started from the asset graph or `dagster asset
        materialize` is not a run of the named job and gets none of its hooks, yet it must not stay
        `started` in the audit for ever.
        """
        store = self.store()
        try:
            yield store
        except BaseException:
            close_run(store, run_id, RUN_FAILED)
            raise


def _close_interrupted(store: AnyAuditStore, instance: dg.DagsterInstance) -> list[str]:
    """Mark `interrupted` the `sync_runs` rows left `started` by runs that Dagster says ended: their
    process died before it could close its row (jde_dead_run_sensor or run monitoring reports such runs
    failed, and neither opens the audit, so the next step that does closes the row)."""
    open_runs = store.unfinished_runs()
    if not open_runs:
        return []
    records = instance.get_run_records(filters=dg.RunsFilter(run_ids=open_runs))
    ended = [r.dagster_run.run_id for r in records if r.dagster_run.is_finished]
    store.mark_interrupted(ended)
    return ended


def resources_from_env(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every resource, keyed as the assets' parameters name them, from the environment."""

    def secrets(part: str) -> dict[str, dg.EnvVar]:
        return {field: dg.EnvVar(name) for field, name in SECRETS[part].items()}

    def optional_secrets(part: str) -> dict[str, dg.EnvVar]:
        return {
            field: dg.EnvVar(name) for field, name in OPTIONAL_SECRETS[part].items() if env_text(name, env)
        }

    return {
        "jde": from_env(JdeAisResource, env, **secrets("jde")),
        "mailchimp": from_env(MailchimpResource, env, **secrets("mailchimp")),
        "audit": from_env(AuditStoreResource, env, **optional_secrets("audit")),
        "sync_settings": from_env(SyncSettingsResource, env),
        "staging": from_env(StagedFrameIOManager, env),
    }


@dg.definitions
def resources() -> dg.Definitions:
    """The resources every job of the code location uses."""
    return dg.Definitions(resources=resources_from_env())

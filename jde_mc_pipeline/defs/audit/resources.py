"""`AuditStoreResource`: the DuckDB audit file and how long its raw rows are kept.

Why not dagster-duckdb's `DuckDBResource`: it always opens read-write (the dry run must read a file
without writing it) and it does not close the connection in `finally`, so a failing in-process step keeps
the file's lock; `AuditStore` opens a short, lock-retrying connection per batch of rows and always closes
it (audit/store.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.sync.stages import close_run

DEFAULT_AUDIT_DB = "data/audit_trail.duckdb"


class AuditStoreResource(dg.ConfigurableResource):
    """The DuckDB audit trail (short lock-retrying connections, so parallel runs share the file)."""

    path: str = Field(
        DEFAULT_AUDIT_DB,
        description="DuckDB audit file (relative to the working directory)",
        json_schema_extra={"env": "JDE_MC_AUDIT_DB"},
    )
    keep_raw_days: int | None = Field(
        None,
        ge=1,
        description="days of raw pulls (jde_pulls) and mapped values kept; pruned when a sync run closes. "
        "Runs, writes, outcomes and events are kept. Empty: kept forever",
        json_schema_extra={"env": "JDE_MC_AUDIT_KEEP_RAW_DAYS"},
    )

    def store(self, *, read_only: bool = False) -> AuditStore:
        return AuditStore(self.path, read_only=read_only)

    def close_interrupted(self, store: AuditStore, instance: dg.DagsterInstance) -> list[str]:
        """Mark `interrupted` the `sync_runs` rows left `started` by runs that Dagster says ended: their
        process died before it could close its row (jde_dead_run_sensor reports such runs failed, and a
        sensor never opens the DuckDB file, so the next run that does closes the row)."""
        open_runs = store.unfinished_runs()
        if not open_runs:
            return []
        records = instance.get_run_records(filters=dg.RunsFilter(run_ids=open_runs))
        ended = [r.dagster_run.run_id for r in records if r.dagster_run.is_finished]
        store.mark_interrupted(ended)
        return ended

    @contextmanager
    def closing_run(self, run_id: str) -> Iterator[AuditStore]:
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
            close_run(store, run_id, "failed")
            raise

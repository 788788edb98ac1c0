"""`AuditStoreResource`: the DuckDB audit file and how long its raw rows are kept.

Why not dagster-duckdb's `DuckDBResource`: it always opens read-write (the dry run must read a file
without writing it) and it does not close the connection in `finally`, so a failing in-process step keeps
the file's lock; `AuditStore` opens a short, lock-retrying connection per batch of rows and always closes
it (audit/store.py).
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from jde_mc_pipeline.audit.store import AuditStore

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

"""Which audit backend a location names, and the synced state over a store of either kind.

Why one factory: callers build the state from whatever store the settings gave them (`AuditSettings.store`);
choosing the state class in each of them would let one of them forget PostgreSQL. A location is a DuckDB
file path (or `:memory:`) unless it is a `postgresql://` URL (`JDE_MC_AUDIT_URL`).
"""

from __future__ import annotations

from pathlib import Path

from jde_mc_pipeline.audit.postgres.connection import is_postgres_url
from jde_mc_pipeline.audit.postgres.state import PostgresSyncedState
from jde_mc_pipeline.audit.postgres.store import PostgresAuditStore
from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore

AnyAuditStore = AuditStore | PostgresAuditStore
AnySyncedState = DuckDBSyncedState | PostgresSyncedState


def open_store(location: str | Path, *, read_only: bool = False) -> AnyAuditStore:
    """The store at `location`: a PostgreSQL database for a `postgresql://` URL, else a DuckDB file."""
    if is_postgres_url(str(location)):
        return PostgresAuditStore(str(location), read_only=read_only)
    return AuditStore(location, read_only=read_only)


def synced_state(store: AnyAuditStore) -> AnySyncedState:
    """The last synced state kept in `store`, of the store's kind."""
    if isinstance(store, PostgresAuditStore):
        return PostgresSyncedState(store)
    return DuckDBSyncedState(store)

"""The PostgreSQL audit schema's version: read, required, and upgraded only when asked
(`jde-mc audit upgrade`).

Why never on open: on PostgreSQL the audit database is shared by every run's container, often owned by a
DBA, and a schema that changes because some run started is a schema nobody decided to change. A store
opened on a database that is empty or behind refuses with `SchemaNotReadyError`, naming the command and the
versions. The upgrade holds one transaction-scoped advisory lock, so two upgrades started at once run one
after the other: the second finds nothing left to apply. PostgreSQL's DDL is transactional, so a failed
migration leaves the database at the version it had.
"""

from __future__ import annotations

import datetime as dt
import logging

import psycopg

from jde_mc_pipeline.audit.postgres.connection import connection, redacted
from jde_mc_pipeline.audit.postgres.schema import CREATE_MIGRATION_TABLE, LATEST_VERSION, MIGRATIONS
from jde_mc_pipeline.audit.schema import MIGRATION_TABLE, Migration

log = logging.getLogger(__name__)
UPGRADE_LOCK = 0x6A64656D63_01
"""The advisory lock key of `upgrade` (an arbitrary constant of this application)."""
UPGRADE_COMMAND = "jde-mc audit upgrade"


class SchemaNotReadyError(RuntimeError):
    """The audit database lacks migrations this release needs; `jde-mc audit upgrade` applies them."""


def version(url: str) -> int:
    """The newest migration the database records (0: none, an empty database)."""
    with connection(url, read_only=True) as conn:
        return _recorded_version(conn)


def require_current(url: str) -> None:
    """Raise `SchemaNotReadyError` unless the database is at this release's version."""
    found = version(url)
    if found < LATEST_VERSION:
        state = "has no audit schema" if found == 0 else f"is at audit schema version {found}"
        raise SchemaNotReadyError(
            f"the audit database {redacted(url)} {state}; this release needs version {LATEST_VERSION}: "
            f"run `{UPGRADE_COMMAND}` (with JDE_MC_AUDIT_URL set) to create or upgrade it"
        )
    if found > LATEST_VERSION:
        raise SchemaNotReadyError(
            f"the audit database {redacted(url)} is at audit schema version {found}, newer than this "
            f"release's {LATEST_VERSION}: run a release that knows it"
        )


def upgrade(url: str) -> list[Migration]:
    """Apply the migrations the database lacks, in one transaction under the upgrade lock; returns them."""
    applied = []
    with connection(url, read_only=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [UPGRADE_LOCK])
        conn.execute(CREATE_MIGRATION_TABLE)
        done = _recorded_version(conn)
        for migration in MIGRATIONS:
            if migration.version <= done:
                continue
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {MIGRATION_TABLE} (version, name, applied_at) VALUES (%s, %s, %s)",
                [migration.version, migration.name, dt.datetime.now(dt.UTC)],
            )
            applied.append(migration)
    for migration in applied:
        log.info(
            "audit database %s: applied migration %d (%s)", redacted(url), migration.version, migration.name
        )
    return applied


def _recorded_version(conn: psycopg.Connection) -> int:
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [MIGRATION_TABLE]).fetchone()
    if not exists or not exists[0]:
        return 0
    found = conn.execute(f"SELECT max(version) FROM {MIGRATION_TABLE}").fetchone()
    return int(found[0]) if found and found[0] is not None else 0

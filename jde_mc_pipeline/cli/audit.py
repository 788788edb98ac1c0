"""`jde-mc audit upgrade` and `jde-mc audit status`: the audit schema's version, and its upgrade.

Why a command: on PostgreSQL (`JDE_MC_AUDIT_URL`) the schema is created and upgraded only when someone
asks (audit/postgres/migrations.py), typically once per release from a deployment's job, before runs
start; `status` tells whether that is needed (exit 1 when the database is behind). On the DuckDB file
(the default) a store brings the file up to date when it opens it, so `upgrade` does just that, printing
what was applied. The database is always shown without its password.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from jde_mc_pipeline.audit.postgres import migrations as postgres
from jde_mc_pipeline.audit.postgres.connection import AuditDatabaseError
from jde_mc_pipeline.audit.schema import LATEST_VERSION, MIGRATIONS, Migration
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.settings.environment import SettingsError, from_env
from jde_mc_pipeline.settings.systems import AuditSettings


def main(options: dict[str, Any]) -> int:
    """`jde-mc audit upgrade|status`."""
    return run_audit(options["action"])


def run_audit(action: str, env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run `action` ("upgrade" or "status") on the configured audit store; the exit status."""
    out = out or sys.stdout
    try:
        audit = from_env(AuditSettings, env)
        if action == "upgrade":
            return _upgrade(audit, out)
        return _status(audit, out)
    except (SettingsError, AuditDatabaseError) as error:
        print(f"jde-mc audit {action}: {error}", file=out)
        return 1


def _upgrade(audit: AuditSettings, out: TextIO) -> int:
    if audit.url:
        applied = postgres.upgrade(audit.url)
    else:
        before = _file_version(audit.path)
        after = AuditStore(audit.path).schema_version()
        applied = [m for m in MIGRATIONS if before < m.version <= after]
    for migration in applied:
        print(f"{audit.location()}: applied migration {_named(migration)}", file=out)
    print(f"{audit.location()}: audit schema version {LATEST_VERSION}, up to date", file=out)
    return 0


def _status(audit: AuditSettings, out: TextIO) -> int:
    if audit.url:
        found = postgres.version(audit.url)
    elif not Path(audit.path).exists():
        print(f"{audit.path}: no audit file yet (the first run creates it)", file=out)
        return 0
    else:
        found = _file_version(audit.path)
    if found == LATEST_VERSION:
        print(f"{audit.location()}: audit schema version {found}, up to date", file=out)
        return 0
    print(
        f"{audit.location()}: audit schema version {found}, this release needs {LATEST_VERSION}: "
        "run `jde-mc audit upgrade`",
        file=out,
    )
    return 1


def _file_version(path: str) -> int:
    return AuditStore(path, read_only=True).schema_version() if Path(path).exists() else 0


def _named(migration: Migration) -> str:
    return f"{migration.version} ({migration.name})"

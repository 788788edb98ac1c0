"""The audit schema's migrations: recorded in `audit_schema_migrations` on both backends, applied to a
PostgreSQL database only by `jde-mc audit upgrade` (idempotent, safe to start twice at once), and applied
(logged, recorded) when a DuckDB file of an older release is opened."""

from __future__ import annotations

import io
import logging
import multiprocessing
from typing import Any

import duckdb
import psycopg
import pytest

from jde_mc_pipeline.audit.postgres.migrations import SchemaNotReadyError, upgrade
from jde_mc_pipeline.audit.postgres.schema import MIGRATIONS as POSTGRES_MIGRATIONS
from jde_mc_pipeline.audit.postgres.store import PostgresAuditStore
from jde_mc_pipeline.audit.schema import LATEST_VERSION
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.cli.audit import run_audit


def _audit(action: str, url: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_audit(action, {"JDE_MC_AUDIT_URL": url}, out)
    return code, out.getvalue()


def _password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def _migrations(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version, name FROM audit_schema_migrations ORDER BY version").fetchall()


def test_upgrade_creates_a_fresh_database_and_a_second_run_applies_nothing(postgres_url):
    code, text = _audit("status", postgres_url)
    assert code == 1 and f"version 0, this release needs {LATEST_VERSION}" in text

    code, text = _audit("upgrade", postgres_url)
    assert code == 0
    assert "applied migration 1 (audit relations)" in text
    assert "applied migration 2 (sync_runs.parent_run_id)" in text
    assert _migrations(postgres_url) == [
        (1, "audit relations"),
        (2, "sync_runs.parent_run_id"),
        (3, "drift_findings"),
    ]

    code, again = _audit("upgrade", postgres_url)
    assert code == 0 and "applied" not in again and "up to date" in again
    code, status = _audit("status", postgres_url)
    assert code == 0 and f"version {LATEST_VERSION}, up to date" in status
    for printed in (text, again, status):
        assert _password(postgres_url) not in printed
        assert "postgresql://postgres@127.0.0.1:" in printed


def test_a_store_on_a_database_not_upgraded_names_the_command_and_the_versions(postgres_url):
    with pytest.raises(SchemaNotReadyError) as empty:
        PostgresAuditStore(postgres_url)
    assert "has no audit schema" in str(empty.value) and "jde-mc audit upgrade" in str(empty.value)
    assert f"needs version {LATEST_VERSION}" in str(empty.value)
    assert _password(postgres_url) not in str(empty.value)

    with psycopg.connect(postgres_url) as conn:  # as an older release left it: migration 1 only
        conn.execute(
            "CREATE TABLE audit_schema_migrations "
            "(version bigint PRIMARY KEY, name text, applied_at timestamptz)"
        )
        for statement in POSTGRES_MIGRATIONS[0].statements:
            conn.execute(statement)
        conn.execute("INSERT INTO audit_schema_migrations VALUES (1, 'audit relations', '2026-01-01')")
    with pytest.raises(
        SchemaNotReadyError,
        match=f"is at audit schema version 1; this release needs version {LATEST_VERSION}",
    ):
        PostgresAuditStore(postgres_url, read_only=True)
    assert [m.version for m in upgrade(postgres_url)] == [2, 3]
    PostgresAuditStore(postgres_url).start_run("r1", "job", parent_run_id="r0")


def _upgrade_in_another_process(url: str, start: Any) -> list[int]:
    start.wait(60)  # both processes reach the upgrade together
    return [migration.version for migration in upgrade(url)]


def test_two_upgrades_at_once_apply_each_migration_once(postgres_url):
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(2)
        pending = [pool.apply_async(_upgrade_in_another_process, (postgres_url, start)) for _ in range(2)]
        results = [p.get(timeout=120) for p in pending]
    assert sorted(results) == [[], [1, 2, 3]]
    assert [version for version, _ in _migrations(postgres_url)] == [1, 2, 3]


def test_a_duckdb_file_of_an_older_release_is_upgraded_logged_and_recorded(tmp_path, caplog):
    path = tmp_path / "audit_trail.duckdb"
    with duckdb.connect(str(path)) as conn:  # the first release: no migration table, no later columns
        conn.execute(
            "CREATE TABLE sync_runs (run_id VARCHAR PRIMARY KEY, job VARCHAR NOT NULL, "
            "partition_start VARCHAR, partition_end VARCHAR, window_start TIMESTAMPTZ, "
            "window_end TIMESTAMPTZ, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, "
            "status VARCHAR NOT NULL, counts JSON)"
        )
        conn.execute(
            "INSERT INTO sync_runs VALUES "
            "('r0', 'job', NULL, NULL, NULL, NULL, now(), now(), 'succeeded', NULL)"
        )
    with caplog.at_level(logging.INFO, logger="jde_mc_pipeline.audit"):
        store = AuditStore(path)
    applied = [r.getMessage() for r in caplog.records if "applied migration" in r.getMessage()]
    assert applied == [
        f"audit database {path}: applied migration 1 (audit relations)",
        f"audit database {path}: applied migration 2 (sync_runs.parent_run_id)",
        f"audit database {path}: applied migration 3 (drift_findings)",
    ]
    assert store.schema_version() == LATEST_VERSION
    store.start_run("r1", "job", parent_run_id="r0")
    found = store.query("SELECT run_id, parent_run_id FROM sync_runs ORDER BY run_id")
    assert found.astype(object).where(found.notna(), None).values.tolist() == [["r0", None], ["r1", "r0"]]

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="jde_mc_pipeline.audit"):
        AuditStore(path)
    assert not [r for r in caplog.records if "applied migration" in r.getMessage()]


def test_upgrade_and_status_on_the_duckdb_file(tmp_path):
    env = {"JDE_MC_AUDIT_DB": str(tmp_path / "audit_trail.duckdb")}
    out = io.StringIO()
    assert run_audit("status", env, out) == 0 and "no audit file yet" in out.getvalue()
    out = io.StringIO()
    assert run_audit("upgrade", env, out) == 0
    assert "applied migration 1 (audit relations)" in out.getvalue()
    assert "applied migration 2 (sync_runs.parent_run_id)" in out.getvalue()
    out = io.StringIO()
    assert run_audit("status", env, out) == 0 and f"version {LATEST_VERSION}, up to date" in out.getvalue()

"""What only the PostgreSQL store promises: runs in two processes write and advance the synced state at
once without error or lost rows, the URL's password reaches no log line, error text or stored row, and a
read-only store writes nothing."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from typing import Any

import dagster as dg
import pandas as pd
import psycopg
import pytest

from jde_mc_pipeline.audit.backends import open_store, synced_state
from jde_mc_pipeline.audit.postgres.connection import AuditDatabaseError, close_pools
from jde_mc_pipeline.audit.postgres.migrations import SchemaNotReadyError, upgrade
from jde_mc_pipeline.audit.postgres.state import STATE_LOCK
from jde_mc_pipeline.audit.postgres.store import PostgresAuditStore
from jde_mc_pipeline.defs.resources import resources_from_env
from jde_mc_pipeline.settings.systems import AuditSettings

PARTIES = 600
BATCHES = 6


def _outcomes(run: str, first: int, count: int) -> pd.DataFrame:
    """Successful member writes of parties first..first+count-1, one record per e-mail (shared by runs)."""
    an8s = range(first, first + count)
    return pd.DataFrame(
        {
            "an8": list(an8s),
            "target": "list_member",
            "target_key": [f"h{a}" for a in an8s],
            "outcome": "created",
            "reason": "",
            "payload_hash": [f"{run}-{a}" for a in an8s],
            "payload": [
                {"email_address": f"p{a}@x.io", "tags_active": ["JDE Customer"], "an8s": [a]} for a in an8s
            ],
        }
    )


def _run_in_another_process(url: str, run: str, start: Any) -> None:
    """One run's writes: its outcomes, then the state advanced, in batches, racing the other process."""
    store = open_store(url)
    state = synced_state(store)
    start.wait(60)
    size = PARTIES // BATCHES
    for batch in range(BATCHES):
        outcomes = _outcomes(run, 1 + batch * size, size)
        store.record_outcomes(run, None, outcomes)
        state.record_outcomes(outcomes, run_id=run)


def test_two_processes_record_outcomes_and_advance_the_state_at_once(postgres_url):
    upgrade(postgres_url)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(2) as pool:
        start = manager.Barrier(2)
        pending = [
            pool.apply_async(_run_in_another_process, (postgres_url, run, start)) for run in ("ra", "rb")
        ]
        for done in pending:
            done.get(timeout=300)

    store = PostgresAuditStore(postgres_url)
    per_run = store.query(
        "SELECT run_id, count(*) AS n, count(DISTINCT an8) AS d FROM sync_outcomes GROUP BY 1"
    )
    assert sorted(per_run.itertuples(index=False, name=None)) == [
        ("ra", PARTIES, PARTIES),
        ("rb", PARTIES, PARTIES),
    ]
    state = store.query("SELECT an8, email, payload_hash, an8s FROM synced_state ORDER BY an8")
    assert state["an8"].tolist() == list(range(1, PARTIES + 1))  # one row per record, none lost
    assert all(h.split("-")[0] in ("ra", "rb") for h in state["payload_hash"])
    assert [list(g) for g in state["an8s"]] == [[a] for a in range(1, PARTIES + 1)]


def test_advancing_the_state_waits_for_another_advance_and_says_so(postgres_url, caplog):
    upgrade(postgres_url)
    state = synced_state(open_store(postgres_url))
    caplog.set_level(logging.INFO, logger="jde_mc_pipeline.audit.postgres.state")
    with psycopg.connect(postgres_url) as other:  # another process's advance, holding the lock
        other.execute("SELECT pg_advisory_xact_lock(%s)", [STATE_LOCK])
        advancing = threading.Thread(target=state.record_outcomes, args=(_outcomes("r1", 1, 3),))
        advancing.start()
        advancing.join(1.0)
        assert advancing.is_alive(), "the advance should wait for the other transaction's lock"
        assert state.count() == {}
    advancing.join(30)  # the other transaction ended: the lock is free
    assert state.count() == {"list_member": 3}
    said = [r.getMessage() for r in caplog.records]
    assert any("synced state being advanced by another process: waiting" in line for line in said)
    assert any("waited" in line and "for the synced state's lock" in line for line in said)


def test_the_password_reaches_no_log_line_error_text_or_stored_row(postgres_url, caplog):
    password = postgres_url.split("@", 1)[0].rsplit(":", 1)[1]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SchemaNotReadyError) as not_ready:
        open_store(postgres_url)
    upgrade(postgres_url)
    store = open_store(postgres_url)
    store.start_run("r1", "job")
    store.record_writes(
        "r1", [{"method": "POST", "path": "/lists/x", "status": 400, "response_body": {"a": 1}}]
    )
    with pytest.raises(AuditDatabaseError) as bad_sql:
        store.query("SELECT no_such_column FROM sync_runs")
    wrong = postgres_url.replace(password, password + "wrong")
    close_pools()
    with pytest.raises(AuditDatabaseError) as refused:
        PostgresAuditStore(wrong)
    assert "password authentication failed" in str(refused.value)

    settings = AuditSettings(url=postgres_url)
    resource = resources_from_env({"JDE_MC_AUDIT_URL": postgres_url})["audit"]
    shown = [
        str(not_ready.value),
        str(bad_sql.value),
        str(refused.value),
        store.location,
        settings.location(),
    ]
    assert isinstance(resource.url, dg.EnvVar) and resource.url.env_var_name == "JDE_MC_AUDIT_URL"
    shown += [repr(store), repr(resource)]
    shown += [record.getMessage() for record in caplog.records]
    assert store.location == settings.location() == postgres_url.replace(f":{password}@", "@")
    with psycopg.connect(postgres_url) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        shown += [str(row) for table in tables for row in conn.execute(f"SELECT t::text FROM {table} t")]
    leaks = [text for text in shown if password in text or password + "wrong" in text]
    assert leaks == []
    assert len(tables) == 13  # with drift_findings (migration 3)


def test_a_read_only_store_refuses_writes_and_creates_nothing(postgres_url):
    with pytest.raises(SchemaNotReadyError):
        open_store(postgres_url, read_only=True)
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)

    upgrade(postgres_url)
    reader = open_store(postgres_url, read_only=True)
    with pytest.raises(AuditDatabaseError, match="read-only transaction"):
        reader.start_run("r1", "job")
    with pytest.raises(AuditDatabaseError, match="read-only transaction"):
        reader.record_outcomes("r1", None, _outcomes("r1", 1, 3))
    assert synced_state(reader).record_outcomes(_outcomes("r1", 1, 3), run_id="r1") == 0
    assert reader.query("SELECT count(*) AS n FROM sync_outcomes")["n"].tolist() == [0]
    assert synced_state(reader).count() == {}

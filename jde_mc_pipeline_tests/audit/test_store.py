"""The audit store on a real DuckDB file: what goes in comes back, secrets-free, and a second process
holding the lock delays a write instead of failing it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import duckdb
import pandas as pd

from jde_mc_pipeline.audit.store import AuditStore


def _rows(store: AuditStore, sql: str) -> list[tuple]:
    with store.connect() as conn:
        return conn.execute(sql).fetchall()


def test_run_lifecycle_and_counts(tmp_path):
    store = AuditStore(tmp_path / "audit_trail.duckdb")
    store.start_run("r1", "jde_to_mailchimp_sync", "2026-11-01", "2026-11-02")
    store.finish_run("r1", "succeeded", {"created": 3, "failed": 1})
    [(status, counts)] = _rows(store, "SELECT status, counts FROM sync_runs WHERE run_id = 'r1'")
    assert status == "succeeded"
    assert json.loads(counts) == {"created": 3, "failed": 1}


def test_pulls_keep_each_row_as_json_with_its_an8(tmp_path):
    store = AuditStore(tmp_path / "a.duckdb")
    frame = pd.DataFrame(
        {
            "AN8": pd.array([4242, 4343], dtype="Int64"),
            "ALPH": ["Müller GmbH", "東京商事"],
            "UPMJ": pd.to_datetime(["2026-11-01", None]),
        }
    )
    assert store.record_pulls("r1", {"F0101": frame, "F0115": frame.iloc[0:0]}) == 2
    rows = _rows(store, "SELECT an8, row_json FROM jde_pulls ORDER BY an8")
    assert [an8 for an8, _ in rows] == [4242, 4343]
    first = json.loads(rows[0][1])
    assert first["ALPH"] == "Müller GmbH"
    assert first["UPMJ"].startswith("2026-11-01")
    assert json.loads(rows[1][1])["UPMJ"] is None


def test_writes_and_outcomes_answer_the_operator_questions(tmp_path):
    store = AuditStore(tmp_path / "a.duckdb")
    store.record_writes(
        "r1",
        [
            {
                "target": "list_member",
                "target_key": "abc",
                "method": "POST",
                "path": "/lists/x",
                "request_body": {"members": [1]},
                "status": 500,
                "response_body": "not json",
                "attempt": 1,
            },
            {
                "target": "list_member",
                "target_key": "abc",
                "method": "POST",
                "path": "/lists/x",
                "status": None,
            },
        ],
    )
    outcomes = pd.DataFrame(
        {
            "an8": [1, 2],
            "target": ["list_member", "ecommerce_customer"],
            "outcome": ["failed", "created"],
            "reason": ["HTTP 500", None],
            "payload": [{"email_address": "a@b.co"}, None],
        }
    )
    store.record_outcomes("r1", "2026-11-01", outcomes)
    assert _rows(
        store, "SELECT an8, outcome FROM sync_outcomes WHERE run_id = 'r1' AND outcome = 'failed'"
    ) == [(1, "failed")]
    assert _rows(store, "SELECT status, response_body FROM mailchimp_writes ORDER BY status NULLS FIRST") == [
        (None, None),
        (500, '"not json"'),
    ]


def test_a_write_waits_for_another_process_holding_the_lock(tmp_path):
    path = tmp_path / "a.duckdb"
    store = AuditStore(path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
            "time.sleep(2)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with_lock_held = time.monotonic()
    store.start_run("r2", "jde_to_mailchimp_sync")
    waited = time.monotonic() - with_lock_held
    holder.wait(timeout=10)
    assert waited > 0.5, "the write should have waited for the other process's lock"
    assert _rows(store, "SELECT run_id FROM sync_runs") == [("r2",)]


def test_prune_drops_old_raw_rows_and_keeps_outcomes(tmp_path):
    store = AuditStore(tmp_path / "a.duckdb")
    store.record_pulls("old", {"F0101": pd.DataFrame({"AN8": [1]})})
    store.record_outcomes(
        "old", None, pd.DataFrame({"an8": [1], "target": ["list_member"], "outcome": ["created"]})
    )
    with store.connect() as conn:
        conn.execute("UPDATE jde_pulls SET pulled_at = pulled_at - INTERVAL 40 DAY")
    assert store.prune(keep_raw_days=30) == {"jde_pulls": 1, "mapped_values": 0}
    assert _rows(store, "SELECT count(*) FROM sync_outcomes") == [(1,)]
    assert isinstance(duckdb.__version__, str)


def test_mapped_values_keep_categorical_labels_and_unsent_values(tmp_path):
    """The mapping hands over a compact trail (categorical labels, int32 AN8s, None = not sent)."""
    store = AuditStore(tmp_path / "a.duckdb")
    trail = pd.DataFrame(
        {
            "an8": pd.array([1001, 1002], dtype="int32"),
            "target": pd.Categorical(["list_member", "ecommerce_customer"]),
            "field": pd.Categorical(["merge_fields.FNAME", "company"]),
            "source": pd.Categorical(["F0111.GNNM", "F0101.ALPH"]),
            "source_value": ["Jürgen ", "Société Générale"],
            "mapped_value": ["Jürgen", None],
        }
    )
    assert store.record_mapped_values("r1", trail) == 2
    assert _rows(
        store, "SELECT an8, target, field, source_value, mapped_value FROM mapped_values ORDER BY an8"
    ) == [
        (1001, "list_member", "merge_fields.FNAME", "Jürgen ", "Jürgen"),
        (1002, "ecommerce_customer", "company", "Société Générale", None),
    ]

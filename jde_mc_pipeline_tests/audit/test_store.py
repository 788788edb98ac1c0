"""The audit store on a real DuckDB file and a real PostgreSQL database: what goes in comes back,
secrets-free, and (DuckDB) a second process holding the lock delays a write instead of failing it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.store import AuditStore


def _rows(store: AnyAuditStore, sql: str) -> list[tuple]:
    frame = store.query(sql)
    return list(frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None))


def test_run_lifecycle_and_counts(store):
    store.start_run("r1", "jde_to_mailchimp_sync", "2026-11-01", "2026-11-02")
    store.finish_run("r1", "succeeded", {"created": 3, "failed": 1})
    [(status, counts)] = _rows(store, "SELECT status, counts FROM sync_runs WHERE run_id = 'r1'")
    assert status == "succeeded"
    assert json.loads(counts) == {"created": 3, "failed": 1}


def test_a_re_execution_names_the_run_whose_pulls_it_reuses(store):
    assert not store.has_run("r2")
    store.start_run("r1", "jde_to_mailchimp_sync")
    store.start_run("r2", "jde_to_mailchimp_sync", parent_run_id="r1")
    store.start_run("r2", "jde_to_mailchimp_sync", parent_run_id="r1")  # retried: replaced, not doubled
    assert store.has_run("r2")
    assert _rows(store, "SELECT run_id, parent_run_id, status FROM sync_runs ORDER BY run_id") == [
        ("r1", None, "started"),
        ("r2", "r1", "started"),
    ]


def test_query_takes_question_mark_parameters_beside_literal_marks(store):
    store.record_writes("r1", [{"method": "GET", "path": "/lists/x?count=10", "status": 200}])
    found = store.query(
        "SELECT split_part(path, '?', 1) AS path FROM mailchimp_writes WHERE run_id = ? AND path LIKE '%x%'",
        ["r1"],
    )
    assert found["path"].tolist() == ["/lists/x"]


def test_pulls_keep_each_row_as_json_with_its_an8(store):
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


def test_writes_and_outcomes_answer_the_operator_questions(store):
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


def test_prune_drops_old_raw_rows_and_keeps_outcomes(store):
    store.record_pulls("old", {"F0101": pd.DataFrame({"AN8": [1]})})
    store.record_outcomes(
        "old", None, pd.DataFrame({"an8": [1], "target": ["list_member"], "outcome": ["created"]})
    )
    store.query("UPDATE jde_pulls SET pulled_at = pulled_at - INTERVAL '40 days'")
    assert store.prune(keep_raw_days=30) == {"jde_pulls": 1, "mapped_values": 0}
    assert _rows(store, "SELECT count(*) FROM sync_outcomes") == [(1,)]


def test_mapped_values_keep_categorical_labels_and_unsent_values(store):
    """The mapping hands over a compact trail (categorical labels, int32 AN8s, None = not sent)."""
    trail = pd.DataFrame(
        {
            "an8": pd.array([1001, 1002], dtype="int32"),
            "target": pd.Categorical(["list_member", "ecommerce_customer"]),
            "field": pd.Categorical(["merge_fields.FNAME", "company"]),
            "source": pd.Categorical(["F0111.GNNM", "F0101.ALPH"]),
            "source_value": ["Jürgen ", 'Société "Générale",\n'],
            "mapped_value": ["Jürgen", None],
        }
    )
    assert store.record_mapped_values("r1", trail) == 2
    assert _rows(
        store, "SELECT an8, target, field, source_value, mapped_value FROM mapped_values ORDER BY an8"
    ) == [
        (1001, "list_member", "merge_fields.FNAME", "Jürgen ", "Jürgen"),
        (1002, "ecommerce_customer", "company", 'Société "Générale",\n', None),
    ]

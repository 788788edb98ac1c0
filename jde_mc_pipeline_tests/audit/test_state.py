"""The synced state in DuckDB, the read-only store, and the replay queries, on a real file."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mapping.changes import InMemorySyncedState


def _pushed(rows: list[tuple]) -> pd.DataFrame:
    """Outcome rows as the pushes return them: (an8, target, target_key, outcome, hash, email, tags)."""
    return pd.DataFrame(
        [
            {
                "an8": an8,
                "target": target,
                "target_key": key,
                "outcome": outcome,
                "reason": "",
                "payload_hash": digest,
                "payload": {"key": str(an8), "email_address": email, "tags_active": list(tags)},
            }
            for an8, target, key, outcome, digest, email, tags in rows
        ]
    )


def test_only_successful_writes_advance_the_state_and_a_later_one_replaces_it(tmp_path):
    state = DuckDBSyncedState(AuditStore(tmp_path / "a.duckdb"))
    stored = state.record_outcomes(
        _pushed(
            [
                (1, "list_member", "h1", "created", "p1", "Ann@Example.com", ("JDE Customer",)),
                (2, "list_member", "h2", "failed", "p2", "b@x.io", ()),
                (3, "list_member", "h3", "rejected:Member In Compliance State", "p3", "c@x.io", ()),
                (1, "ecommerce_customer", "1", "updated", "c1", "ann@example.com", ()),
            ]
        ),
        run_id="r1",
    )
    assert stored == 2
    state.record_outcomes(_pushed([(1, "list_member", "h9", "renamed", "p9", "new@x.io", ("JDE Vendor",))]))

    members = state.last_synced("list_member", np.array([1, 2, 3], dtype=np.int64))
    assert members.to_dict("records") == [
        {"an8": 1, "target_key": "h9", "email": "new@x.io", "payload_hash": "p9", "tags": ("JDE Vendor",)}
    ]
    assert members["an8"].dtype == np.int64
    assert state.holders_of("ecommerce_customer", ["ann@example.com"])["an8"].tolist() == [1]
    assert state.holders_of("list_member", ["ann@example.com"]).empty
    assert state.count() == {"list_member": 1, "ecommerce_customer": 1}


def test_the_duckdb_state_answers_like_the_in_memory_one(tmp_path):
    duck = DuckDBSyncedState(AuditStore(tmp_path / "a.duckdb"))
    memory = InMemorySyncedState()
    data = [
        (an8, "list_member", f"h{an8}", "created", f"p{an8}", f"m{an8 % 7}@x.io", ()) for an8 in range(1, 40)
    ]
    duck.record_outcomes(_pushed(data))
    for an8, target, key, _, digest, email, tags in data:
        memory.record(target, an8, key, email, digest, tags)

    wanted = [3, 5, 99, 17]
    left = duck.last_synced("list_member", wanted).sort_values("an8", ignore_index=True)
    right = memory.last_synced("list_member", wanted).sort_values("an8", ignore_index=True)
    pd.testing.assert_frame_equal(left, right)
    left = duck.holders_of("list_member", ["m1@x.io", "zz@x.io"]).sort_values("an8", ignore_index=True)
    right = memory.holders_of("list_member", ["m1@x.io", "zz@x.io"]).sort_values("an8", ignore_index=True)
    pd.testing.assert_frame_equal(left, right)


def test_a_read_only_store_never_writes_and_reads_an_old_file_as_empty_state(tmp_path):
    with pytest.raises(FileNotFoundError):
        AuditStore(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()

    old = tmp_path / "old.duckdb"
    duckdb.connect(str(old)).close()  # an audit file from before synced_state existed
    state = DuckDBSyncedState(AuditStore(old, read_only=True))
    assert state.last_synced("list_member", [1]).empty
    assert state.last_rejected("list_member", [1]).empty
    assert state.record_outcomes(_pushed([(1, "list_member", "h", "created", "p", "a@x.io", ())])) == 0
    with duckdb.connect(str(old), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)


def test_unresolved_failures_know_when_a_later_run_superseded_them(tmp_path):
    store = AuditStore(tmp_path / "a.duckdb")
    failed = _pushed(
        [
            (1, "list_member", "h1", "failed", "p1", "a@x.io", ()),
            (2, "list_member", "h2", "failed", "p2", "b@x.io", ()),
        ]
    )
    store.record_outcomes("r1", "2026-11-01", failed)
    store.record_outcomes(
        "r2", "2026-11-02", _pushed([(2, "list_member", "h2", "unchanged", "p2", "b@x.io", ())])
    )

    found = store.unresolved_failures().set_index("an8")
    assert found.loc[1, "is_latest"] and not found.loc[2, "is_latest"]
    assert (found.loc[2, "latest_run_id"], found.loc[2, "latest_outcome"]) == ("r2", "unchanged")
    assert found.loc[1, "payload"].startswith("{") and found.loc[1, "partition_key"] == "2026-11-01"
    assert store.unresolved_failures("r2").empty

    assert store.mark_resolved(found.reset_index().loc[lambda f: f["an8"] == 1], "replay") == 1
    assert store.unresolved_failures()["an8"].tolist() == [2]


def test_refusals_for_good_are_remembered_until_a_success_and_failures_never(tmp_path):
    state = DuckDBSyncedState(AuditStore(tmp_path / "a.duckdb"))
    pushed = _pushed(
        [
            (1, "list_member", "h1", "rejected:Member In Compliance State", "p1", "a@x.io", ()),
            (2, "list_member", "h2", "failed", "p2", "b@x.io", ()),
            (3, "ecommerce_customer", "3", "rejected:Invalid Resource", "c3", "c@x.io", ()),
            (4, "ecommerce_customer", "4", "rejected:Invalid Resource", "c4", "d@x.io", ()),
            (5, "list_member", "h5", "rejected:Invalid Resource", "p5", "e@x.io", ()),
        ]
    )
    pushed.loc[pushed["an8"] == 4, "reason"] = "This customer email already exists"

    assert state.record_outcomes(pushed, run_id="r1") == 0  # nothing advanced
    assert state.last_synced("list_member", [1, 2, 5]).empty  # a refused party holds no record

    members = state.last_rejected("list_member", np.array([1, 2, 5, 9], dtype=np.int64))
    assert members.to_dict("records") == [
        {"an8": 1, "payload_hash": "p1", "title": "Member In Compliance State", "run_id": "r1"},
        {"an8": 5, "payload_hash": "p5", "title": "Invalid Resource", "run_id": "r1"},
    ]
    customers = state.last_rejected("ecommerce_customer", [3, 4])
    assert customers[["an8", "payload_hash"]].values.tolist() == [[3, "c3"]]  # 4: held elsewhere

    state.record_outcomes(
        _pushed(
            [
                (1, "list_member", "h1", "created", "p1b", "a2@x.io", ()),
                (5, "list_member", "h5", "rejected:Forgotten Email Not Subscribed", "p5b", "e@x.io", ()),
            ]
        ),
        run_id="r2",
    )
    assert state.last_rejected("list_member", [1, 5]).to_dict("records") == [
        {"an8": 5, "payload_hash": "p5b", "title": "Forgotten Email Not Subscribed", "run_id": "r2"}
    ]
    assert state.last_synced("list_member", [1])["payload_hash"].tolist() == ["p1b"]


def test_the_duckdb_refusals_answer_like_the_in_memory_ones(tmp_path):
    duck = DuckDBSyncedState(AuditStore(tmp_path / "a.duckdb"))
    memory = InMemorySyncedState()
    data = [
        (an8, "list_member", f"h{an8}", "rejected:Invalid Resource", f"p{an8}", "x@x.io", ())
        for an8 in range(1, 9)
    ]
    duck.record_outcomes(_pushed(data))  # no run id: None, as in memory
    for an8, target, _, outcome, digest, _, _ in data:
        memory.record_rejected(target, an8, digest, outcome.removeprefix("rejected:"))

    wanted = [2, 7, 99]
    left = duck.last_rejected("list_member", wanted)
    right = memory.last_rejected("list_member", wanted).sort_values("an8", ignore_index=True)
    pd.testing.assert_frame_equal(left, right)


def test_an_audit_file_from_before_the_refusals_gets_their_relation(tmp_path):
    path = tmp_path / "old.duckdb"
    AuditStore(path)
    with duckdb.connect(str(path)) as conn:
        conn.execute("DROP TABLE synced_rejections")
        conn.execute(
            "INSERT INTO synced_state VALUES ('list_member', 1, 'h', 'a@x.io', 'p', [], 'r0', now())"
        )

    state = DuckDBSyncedState(AuditStore(path))
    assert state.last_rejected("list_member", [1]).empty
    state.record_outcomes(_pushed([(1, "list_member", "h", "rejected:Invalid Resource", "q", "a@x.io", ())]))
    assert state.last_rejected("list_member", [1])["payload_hash"].tolist() == ["q"]
    assert state.last_synced("list_member", [1])["payload_hash"].tolist() == ["p"]

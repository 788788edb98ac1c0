"""The synced state, the read-only store, and the replay queries, on a real DuckDB file and a real
PostgreSQL database."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from jde_mc_pipeline.audit.backends import AnySyncedState, open_store, synced_state
from jde_mc_pipeline.audit.state import DuckDBSyncedState, memory_state
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline_tests.audit.conftest import audit_location


def _pushed(rows: list[tuple]) -> pd.DataFrame:
    """Outcome rows as the pushes return them:
    (an8, target, target_key, outcome, hash, email, tags[, an8s])."""
    return pd.DataFrame(
        [
            {
                "an8": an8,
                "target": target,
                "target_key": key,
                "outcome": outcome,
                "reason": "",
                "payload_hash": digest,
                "payload": {
                    "key": str(an8),
                    "email_address": email,
                    "tags_active": list(tags),
                    "an8s": list(group[0]) if group else [an8],
                },
            }
            for an8, target, key, outcome, digest, email, tags, *group in rows
        ]
    )


def _records(state, target, an8s=(), emails=()) -> list[dict]:
    return state.records(target, np.asarray(an8s, dtype=np.int64), emails).to_dict("records")


@pytest.fixture(params=["duckdb", "memory", "postgres"])
def state(request) -> AnySyncedState:
    """The state on a DuckDB file, in memory, and in a PostgreSQL database: one behaviour, three homes."""
    if request.param == "memory":
        return memory_state()
    return synced_state(open_store(audit_location(request, request.param)))


def test_only_successful_writes_advance_the_state_and_a_later_one_replaces_it(state):
    stored = state.record_outcomes(
        _pushed(
            [
                (1, "list_member", "h1", "created", "p1", "Ann@Example.com", ("JDE Customer",)),
                (2, "list_member", "h2", "failed", "p2", "b@x.io", ()),
                (3, "list_member", "h3", "rejected:Member In Compliance State", "p3", "c@x.io", ()),
                (1, "ecommerce_customer", "c1", "updated", "c1", "ann@example.com", ()),
            ]
        ),
        run_id="r1",
    )
    assert stored == 2
    state.record_outcomes(_pushed([(1, "list_member", "h9", "renamed", "p9", "new@x.io", ("JDE Vendor",))]))

    members = _records(state, "list_member", [1, 2, 3])
    assert members == [
        {
            "an8": 1,
            "target_key": "h9",
            "email": "new@x.io",
            "payload_hash": "p9",
            "tags": ("JDE Vendor",),
            "an8s": (1,),
        }
    ]
    assert [r["an8"] for r in _records(state, "ecommerce_customer", emails=["ann@example.com"])] == [1]
    assert _records(state, "list_member", emails=["ann@example.com"]) == []
    assert state.count() == {"list_member": 1, "ecommerce_customer": 1}


def test_a_record_is_found_by_its_holder_by_an_an8_folded_in_and_by_its_email(state):
    state.record_outcomes(
        _pushed(
            [
                (7, "list_member", "hs", "created", "p", "shared@x.io", (), (5, 7, 9)),
                (8, "list_member", "h8", "created", "q", "own@x.io", ()),
            ]
        )
    )
    for an8s, emails in (([7], []), ([5], []), ([9], []), ([], ["shared@x.io"])):
        assert [r["an8"] for r in _records(state, "list_member", an8s, emails)] == [7], (an8s, emails)
    [found] = _records(state, "list_member", [9])
    assert found["an8s"] == (5, 7, 9)
    assert _records(state, "list_member", [6]) == []
    synced = state.synced_an8s()
    assert sorted(synced.loc[synced["holder"] == 7, "an8"]) == [5, 7, 9]


def test_a_write_replaces_every_row_of_its_record_and_takes_its_an8s_out_of_other_groups(state):
    state.record_outcomes(
        _pushed(
            [
                (1, "list_member", "ha", "created", "p", "a@x.io", (), (1, 2)),
                (3, "list_member", "hb", "created", "q", "b@x.io", (), (3, 4)),
            ]
        )
    )
    # AN8 2 moved onto b@ and now holds it, with 3 and 4 folded in.
    state.record_outcomes(_pushed([(2, "list_member", "hb", "updated", "r", "b@x.io", (), (2, 3, 4))]))

    rows = {r["an8"]: r for r in _records(state, "list_member", [1, 2, 3, 4])}
    assert rows[1]["an8s"] == (1,) and rows[1]["email"] == "a@x.io"  # 2 left a@'s group
    assert rows[2]["an8s"] == (2, 3, 4) and rows[2]["payload_hash"] == "r"
    assert set(rows) == {1, 2}  # 3 held b@ before: its row is gone (one row per record)


def test_retired_records_and_renamed_members_leave_the_state(state):
    state.record_outcomes(
        _pushed(
            [
                (1, "ecommerce_customer", "old-id", "created", "c", "old@x.io", ()),
                (1, "list_member", "old-hash", "created", "m", "old@x.io", ()),
            ]
        )
    )
    moved = _pushed(
        [
            (1, "ecommerce_customer", "new-id", "renamed", "c2", "new@x.io", ()),
            (1, "list_member", "new-hash", "renamed", "m2", "new@x.io", ()),
        ]
    )
    moved.at[0, "payload"] = {**moved.at[0, "payload"], "retires": ["old-id"]}
    moved.at[1, "payload"] = {**moved.at[1, "payload"], "previous_email": "old@x.io"}
    state.record_outcomes(moved)
    assert [r["target_key"] for r in _records(state, "ecommerce_customer", [1])] == ["new-id"]
    assert [r["email"] for r in _records(state, "list_member", [1])] == ["new@x.io"]


def test_departures_remove_the_record_when_applied_and_a_later_write_forgets_them(state):
    state.record_outcomes(
        _pushed([(1, "list_member", "h1", "created", "p", "a@x.io", ("JDE Vendor",), (1, 2))])
    )
    left = pd.DataFrame(
        [
            {
                "an8": a,
                "target": "list_member",
                "target_key": "h1",
                "outcome": "left_scope:no_role",
                "reason": "untag",
                "payload_hash": None,
                "payload": {"action": "untag", "target_key": "h1", "record_removed": True},
            }
            for a in (1, 2)
        ]
    )
    state.record_outcomes(left, run_id="r3")
    assert _records(state, "list_member", [1, 2]) == []
    gone = state.departed("list_member", [1, 2, 3])
    assert gone.to_dict("records") == [
        {"an8": 1, "reason": "no_role", "action": "untag", "run_id": "r3"},
        {"an8": 2, "reason": "no_role", "action": "untag", "run_id": "r3"},
    ]
    state.record_outcomes(_pushed([(2, "list_member", "h1", "created", "p", "a@x.io", ())]))
    assert state.departed("list_member", [1, 2])["an8"].tolist() == [1]


def test_a_departure_kept_by_other_parties_removes_nothing(state):
    state.record_outcomes(_pushed([(1, "list_member", "h1", "created", "p", "a@x.io", (), (1, 2))]))
    kept = pd.DataFrame(
        [
            {
                "an8": 2,
                "target": "list_member",
                "target_key": "h1",
                "outcome": "left_scope:deleted_in_jde",
                "reason": "kept",
                "payload_hash": None,
                "payload": None,
            }
        ]
    )
    state.record_outcomes(kept)
    assert [r["an8"] for r in _records(state, "list_member", [1])] == [1]
    assert state.departed("list_member", [2])[["reason", "action"]].values.tolist() == [
        ["deleted_in_jde", "kept"]
    ]


def test_legacy_customers_are_the_ones_not_keyed_by_their_email_hash(state):
    import hashlib

    good = hashlib.md5(b"a@x.io").hexdigest()
    state.record_outcomes(
        _pushed(
            [
                (1, "ecommerce_customer", good, "created", "c", "a@x.io", ()),
                (2, "ecommerce_customer", "2", "created", "d", "b@x.io", ()),
            ]
        )
    )
    assert state.legacy_customers()["an8"].tolist() == [2]


def test_a_read_only_store_never_writes_and_reads_an_old_file_as_empty_state(tmp_path):
    with pytest.raises(FileNotFoundError):
        AuditStore(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()

    old = tmp_path / "old.duckdb"
    duckdb.connect(str(old)).close()  # an audit file from before synced_state existed
    state = DuckDBSyncedState(AuditStore(old, read_only=True))
    assert _records(state, "list_member", [1]) == []
    assert state.last_rejected("list_member", [1]).empty
    assert state.departed("list_member", [1]).empty
    assert state.record_outcomes(_pushed([(1, "list_member", "h", "created", "p", "a@x.io", ())])) == 0
    with duckdb.connect(str(old), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (0,)


def test_a_read_only_file_from_before_groups_reads_each_holder_alone(tmp_path):
    path = tmp_path / "v1.duckdb"
    with duckdb.connect(str(path)) as conn:  # synced_state as the first release wrote it
        conn.execute(
            "CREATE TABLE synced_state (target VARCHAR, an8 BIGINT, target_key VARCHAR, email VARCHAR, "
            "payload_hash VARCHAR, tags VARCHAR[], run_id VARCHAR, synced_at TIMESTAMPTZ)"
        )
        conn.execute(
            "INSERT INTO synced_state VALUES ('list_member', 4, 'h', 'a@x.io', 'p', [], 'r0', now())"
        )
    state = DuckDBSyncedState(AuditStore(path, read_only=True))
    assert [r["an8s"] for r in _records(state, "list_member", [4])] == [(4,)]


def test_unresolved_failures_know_when_a_later_run_superseded_them(store):
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


def test_refusals_for_good_are_remembered_until_a_success_and_failures_never(state):
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
    assert _records(state, "list_member", [1, 2, 5]) == []  # a refused party holds no record

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
    assert [r["payload_hash"] for r in _records(state, "list_member", [1])] == ["p1b"]


def test_an_audit_file_from_before_the_later_relations_gets_them(tmp_path):
    path = tmp_path / "old.duckdb"
    AuditStore(path)
    with duckdb.connect(str(path)) as conn:  # as a release before migrations left it
        conn.execute("DROP TABLE audit_schema_migrations")
        conn.execute("DROP TABLE synced_rejections")
        conn.execute("DROP TABLE synced_departures")
        conn.execute("ALTER TABLE synced_state DROP COLUMN an8s")
        conn.execute(
            "INSERT INTO synced_state VALUES ('list_member', 1, 'h', 'a@x.io', 'p', [], 'r0', now())"
        )

    state = DuckDBSyncedState(AuditStore(path))
    assert state.last_rejected("list_member", [1]).empty
    state.record_outcomes(_pushed([(1, "list_member", "h", "rejected:Invalid Resource", "q", "a@x.io", ())]))
    assert state.last_rejected("list_member", [1])["payload_hash"].tolist() == ["q"]
    assert [(r["payload_hash"], r["an8s"]) for r in _records(state, "list_member", [1])] == [("p", (1,))]


def test_tags_keep_commas_quotes_backslashes_and_accents(state):
    tags = ("JDE Customer", 'Grade "A", gold', "back\\slash", "Région Île-de-France", "")
    state.record_outcomes(_pushed([(1, "list_member", "h1", "created", "p", "a@x.io", tags)]))
    assert [r["tags"] for r in _records(state, "list_member", [1])] == [tags]

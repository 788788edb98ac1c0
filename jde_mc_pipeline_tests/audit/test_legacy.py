"""The one-time move of the first release's customer ids (audit/legacy.py) and the keys the state holds,
on real DuckDB files and PostgreSQL databases."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from jde_mc_pipeline.audit.backends import synced_state
from jde_mc_pipeline.audit.legacy import LEGACY_IDS_MOVED, legacy_an8s, moved, record_if_moved
from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mapping.changes import email_hash


def written(an8: int, key: str, email: str) -> pd.DataFrame:
    """The outcome row of a customer written under `key`."""
    payload = {"key": str(an8), "email_address": email, "an8s": [an8]}
    return pd.DataFrame(
        [{"an8": an8, "target": "ecommerce_customer", "target_key": key, "outcome": "updated",
          "reason": "", "payload_hash": "p", "payload": payload}]
    )  # fmt: skip


def test_the_move_is_recorded_by_the_run_that_leaves_no_legacy_id_and_then_never_looked_for(
    store, monkeypatch
) -> None:
    state = synced_state(store)
    state.record_outcomes(written(7, "7", "ann@example.com"), run_id="r1")  # a first-release id
    assert legacy_an8s(state).tolist() == [7]
    assert not record_if_moved(state, "r1") and not moved(state.store)

    state.record_outcomes(written(7, email_hash("ann@example.com"), "ann@example.com"), run_id="r2")

    assert record_if_moved(state, "r2")
    found = store.query("SELECT name, run_id FROM sync_milestones")
    assert list(found.itertuples(index=False, name=None)) == [(LEGACY_IDS_MOVED, "r2")]
    monkeypatch.setattr(type(state), "legacy_customers", lambda self: pytest.fail("looked again"))
    assert legacy_an8s(state).tolist() == []
    assert record_if_moved(state, "r3")


def test_a_read_only_file_from_before_the_milestones_is_not_moved_and_records_nothing(tmp_path) -> None:
    path = tmp_path / "v1.duckdb"
    duckdb.connect(str(path)).close()
    state = DuckDBSyncedState(AuditStore(path, read_only=True))
    assert not moved(state.store)
    assert legacy_an8s(state).tolist() == []
    assert not record_if_moved(state, "dry")


def test_held_keys_are_the_keys_the_state_holds_for_the_target(store) -> None:
    state = synced_state(store)
    state.record_outcomes(written(7, "c7", "ann@example.com"), run_id="r1")
    assert state.held_keys("ecommerce_customer", ["c7", "c8"]) == {"c7"}
    assert state.held_keys("list_member", ["c7"]) == set()
    assert state.held_keys("ecommerce_customer", []) == set()

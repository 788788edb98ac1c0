"""`drift_findings` (migration 3) on a real DuckDB file and a real PostgreSQL database: findings kept as
given, a drift run's watermark read back, and the repair marks (`resend`) read by the synced state and
resolved by the write that repaired them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.backends import synced_state
from jde_mc_pipeline.audit.drift import (
    DRIFT_JOB,
    last_mark,
    open_findings,
    record_findings,
    resend_an8s,
    resolve_findings,
)
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED
from jde_mc_pipeline_tests.audit.test_state import _pushed

ROOT = Path(__file__).resolve().parents[2]


def _findings(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["an8", "target", "kind", "field", "ours", "theirs", "target_key"])


FINDINGS = _findings(
    [
        (1, "list_member", "merge_field_changed", "COMPANY", "Acme", "Acme, by hand", "h1"),
        (2, "list_member", "unsubscribed", "status", "subscribed", "unsubscribed", "h2"),
        (2, "list_member", "tag_removed", "JDE Customer", "active", "absent", "h2"),
        (3, "ecommerce_customer", "customer_missing", None, "c@x.io", None, "c3"),
    ]
)


def test_findings_are_kept_as_found_and_resolved_by_the_run_that_repaired_them(store):
    assert record_findings(store, "d1", FINDINGS, resend=True) == 4
    found = open_findings(store)
    assert found.loc[:, ["run_id", "an8", "kind", "field", "ours", "theirs", "target_key"]].astype(
        object
    ).where(found.notna(), None).values.tolist() == [
        ["d1", 1, "merge_field_changed", "COMPANY", "Acme", "Acme, by hand", "h1"],
        ["d1", 2, "unsubscribed", "status", "subscribed", "unsubscribed", "h2"],
        ["d1", 2, "tag_removed", "JDE Customer", "active", "absent", "h2"],
        ["d1", 3, "customer_missing", None, "c@x.io", None, "c3"],
    ]
    flags = store.query("SELECT kind, resend FROM drift_findings ORDER BY an8, kind")
    assert dict(zip(flags["kind"], flags["resend"].astype(bool), strict=True)) == {
        "merge_field_changed": True,
        "tag_removed": True,
        "unsubscribed": False,  # a status is never repaired
        "customer_missing": True,
    }
    # AN8 2 unsubscribed: its owned tag is not written again either
    assert resend_an8s(store) == {1, 3}
    assert resend_an8s(store, "list_member") == {1}

    assert resolve_findings(store, "list_member", [1], "sync-9") == 1
    assert resend_an8s(store) == {3}
    resolved = store.query("SELECT resolved_by FROM drift_findings WHERE an8 = 1")
    assert resolved["resolved_by"].tolist() == ["sync-9"]


def test_without_the_option_nothing_is_marked_for_a_repair(store):
    record_findings(store, "d1", FINDINGS)
    assert resend_an8s(store) == set()


def test_the_state_shows_a_marked_record_without_its_hash_until_a_write_resolves_it(store):
    state = synced_state(store)
    state.record_outcomes(
        _pushed(
            [
                (1, "list_member", "h1", "created", "p1", "a@x.io", ("JDE Customer",), [1, 11]),
                (4, "list_member", "h4", "created", "p4", "d@x.io", ()),
            ]
        ),
        run_id="sync-1",
    )
    record_findings(store, "d1", FINDINGS.iloc[:1].assign(an8=11), resend=True)  # a merged AN8 of record 1
    hashes = state.records("list_member", np.array([1, 4, 11], dtype=np.int64))
    assert dict(zip(hashes["an8"], hashes["payload_hash"], strict=True)) == {1: "", 4: "p4"}

    written = _pushed([(1, "list_member", "h1", "updated", "p1", "a@x.io", ("JDE Customer",), [1, 11])])
    state.record_outcomes(pd.concat([written, written.assign(an8=11)]), run_id="sync-2")
    assert resend_an8s(store) == set()
    assert store.query("SELECT resolved_by FROM drift_findings")["resolved_by"].tolist() == ["sync-2"]
    hashes = state.records("list_member", np.array([1], dtype=np.int64))
    assert hashes["payload_hash"].tolist() == ["p1"]


def test_the_last_succeeded_drift_run_gives_the_watermark_and_totals(store):
    assert last_mark(store).watermark is None
    early, late = datetime(2026, 11, 2, 5, tzinfo=UTC), datetime(2026, 11, 3, 5, tzinfo=UTC)
    store.start_run("d1", DRIFT_JOB, window=(None, early))
    store.finish_run("d1", RUN_SUCCEEDED, {"audience_members": 300, "deleted": 0})
    store.start_run("d2", DRIFT_JOB, window=(early, late))
    store.finish_run("d2", "failed", {})
    store.start_run("s1", "jde_to_mailchimp_sync", window=(early, late))
    store.finish_run("s1", RUN_SUCCEEDED, {})
    mark = last_mark(store)
    assert mark.watermark == early
    assert mark.counts == {"audience_members": 300, "deleted": 0}


def test_the_documented_drift_question_answers_on_both_backends(store):
    [query] = re.findall(
        r"```pgsql\n(.*?)```", (ROOT / "docs" / "audit.md").read_text(encoding="utf-8"), re.DOTALL
    )
    since = datetime(2026, 11, 2, 5, tzinfo=UTC)
    store.start_run("d2", DRIFT_JOB, window=(since, datetime(2026, 11, 3, 5, tzinfo=UTC)))
    record_findings(store, "d2", FINDINGS, resend=True)
    resolve_findings(store, "ecommerce_customer", [3], "sync-9")
    found = store.query(query.strip().rstrip(";"))
    assert found[["an8", "kind", "field", "theirs"]].astype(object).where(
        found[["an8", "kind", "field", "theirs"]].notna(), None
    ).values.tolist() == [
        [1, "merge_field_changed", "COMPANY", "Acme, by hand"],
        [2, "tag_removed", "JDE Customer", "absent"],
        [2, "unsubscribed", "status", "unsubscribed"],
    ]
    assert found["resend"].astype(bool).tolist() == [True, True, False]
    assert pd.Timestamp(found["read_since"].iloc[0]) == pd.Timestamp(since)

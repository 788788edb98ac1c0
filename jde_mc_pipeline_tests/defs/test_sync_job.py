"""The job `jde_to_mailchimp_sync` materialized for real: both emulators over HTTP, a DuckDB audit file,
staged frames on disk, a Dagster test instance.

Expectations come from outside the code under test: the members and customers Mailchimp should hold
are re-derived from the JDE emulator's raw rows (jde_mc_pipeline_tests/sync/expected.py), and write
counts from the Mailchimp emulator's own request statistics.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import dagster as dg
import pandas as pd

from jde_mc_pipeline.defs.mailchimp.checks import RECONCILIATION, REJECTION_RATE
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld, check_results
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

SYNC_ASSET_KEYS = {
    LIST_MEMBER: dg.AssetKey("mailchimp_list_member_sync"),
    ECOMMERCE_CUSTOMER: dg.AssetKey("mailchimp_ecommerce_customer_sync"),
}


def customers(world: SyncWorld) -> list[dict]:
    reply = support.api(world.mailchimp, "GET", "/ecommerce/stores/jde-e1/customers", count=1000).json()
    assert reply["total_items"] == len(reply["customers"])
    return reply["customers"]


def expected_holders(world: SyncWorld) -> dict[str, expected.Party]:
    """E-mail → holder party, from the raw JDE rows (in-scope parties with a valid e-mail)."""
    return expected.holders(expected.parties(world.jde.url, jde_now("UTC").day))


def test_initial_load_over_a_partition_range(sync_world: SyncWorld) -> None:
    result = sync_world.run(START_DATE, SYNC_DAY)

    assert result.success
    keys = {(START_DATE + dt.timedelta(days=n)).isoformat() for n in range((SYNC_DAY - START_DATE).days + 1)}
    for asset in ("parties", "mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync"):
        done = {m.partition for m in result.asset_materializations_for_node(_node_of(asset))}
        assert done == keys, asset

    staged = Path(sync_world.staging_dir)
    for asset in ("jde/F0101", "parties", "decided_outcomes", "mailchimp_list_member_sync"):
        assert {p.parent.name for p in staged.joinpath(asset).glob(f"*/{result.run_id}.pkl")} == keys, asset

    holders = expected_holders(sync_world)
    members = support.all_members(sync_world.mailchimp)
    assert {m["email_address"] for m in members} == set(holders)
    assert Counter(m["status"] for m in members) == {"subscribed": len(holders)}
    assert {c["email_address"] for c in customers(sync_world)} == set(holders)

    store = sync_world.store
    run_id = result.run_id
    [(status, first, last, counts)] = support.rows(
        store,
        "SELECT status, partition_start, partition_end, counts FROM sync_runs WHERE run_id = ?",
        [run_id],
    )
    assert (status, first, last) == ("succeeded", START_DATE.isoformat(), SYNC_DAY.isoformat())
    raw = expected.raw_rows(sync_world.jde.url)
    pulled = {int(row["AN8"]) for rows in raw.values() for row in rows}
    assert support.rows(store, "SELECT count(DISTINCT an8) FROM jde_pulls WHERE run_id = ?", [run_id]) == [
        (len(pulled),)
    ]
    assert support.rows(store, "SELECT count(*) FROM jde_pulls WHERE run_id = ?", [run_id]) == [
        (sum(len(rows) for rows in raw.values()),)
    ]
    outcomes = pd.DataFrame(
        support.rows(
            store, "SELECT an8, target, outcome, partition_key FROM sync_outcomes WHERE run_id = ?", [run_id]
        ),
        columns=["an8", "target", "outcome", "partition_key"],
    )
    for target in TARGETS:
        mine = outcomes.loc[outcomes["target"] == target]
        assert sorted(mine["an8"]) == sorted(pulled), target
        assert set(mine.loc[mine["outcome"] == "created", "an8"]) == {p.an8 for p in holders.values()}
    assert set(outcomes["partition_key"]) <= keys
    assert len(set(outcomes["partition_key"])) > 1  # recent demo changes land in later partitions
    assert json.loads(counts)[f"{LIST_MEMBER}:created"] == len(holders)
    assert support.rows(store, "SELECT count(*) FROM mapped_values WHERE run_id = ?", [run_id])[0][0] > 0
    writes = support.rows(store, "SELECT method, status FROM mailchimp_writes WHERE run_id = ?", [run_id])
    assert writes and all(method != "GET" for method, _ in writes)
    assert ("POST", 200) in writes
    assert support.rows(
        store, "SELECT target, count(*) FROM synced_state GROUP BY target ORDER BY target"
    ) == [
        (ECOMMERCE_CUSTOMER, len(holders)),
        (LIST_MEMBER, len(holders)),
    ]

    checks = check_results(result)
    for key in SYNC_ASSET_KEYS.values():
        assert checks[(key.to_user_string(), RECONCILIATION)].passed
        assert checks[(key.to_user_string(), REJECTION_RATE)].passed


def test_rerun_of_the_same_partitions_makes_no_mailchimp_write(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    writes_before = support.write_requests(sync_world.mailchimp)
    assert writes_before > 0

    again = sync_world.run(START_DATE, SYNC_DAY)

    assert again.success
    assert support.write_requests(sync_world.mailchimp) == writes_before
    store = sync_world.store
    assert support.rows(store, "SELECT count(*) FROM mailchimp_writes WHERE run_id = ?", [again.run_id]) == [
        (0,)
    ]
    holders = expected_holders(sync_world)
    for target in TARGETS:
        rows = support.rows(
            store,
            "SELECT outcome, count(*) FROM sync_outcomes WHERE run_id = ? AND target = ? "
            "AND outcome NOT LIKE 'quarantined:%' AND outcome NOT LIKE 'skipped:%' AND outcome <> 'merged' "
            "GROUP BY outcome",
            [again.run_id, target],
        )
        assert rows == [("unchanged", len(holders))], target
    assert all(e.passed for e in check_results(again).values() if e.check_name == RECONCILIATION)


def test_reconciliation_check_fails_when_an_outcome_is_missing(sync_world: SyncWorld) -> None:
    first = sync_world.run(START_DATE, SYNC_DAY)
    assert first.success
    assert check_results(first)[("mailchimp_list_member_sync", RECONCILIATION)].passed
    with sync_world.store.connect() as conn:
        [(lost,)] = conn.execute(
            "SELECT min(an8) FROM sync_outcomes WHERE run_id = ? AND target = ?", [first.run_id, LIST_MEMBER]
        ).fetchall()
        conn.execute(
            "DELETE FROM sync_outcomes WHERE run_id = ? AND target = ? AND an8 = ?",
            [first.run_id, LIST_MEMBER, lost],
        )

    defs = sync_world.definitions
    check = dg.AssetCheckKey(dg.AssetKey("mailchimp_list_member_sync"), RECONCILIATION)
    recheck = dg.Definitions.merge(
        defs, dg.Definitions(jobs=[dg.define_asset_job("recheck", selection=dg.AssetSelection.checks(check))])
    ).resolve_job_def("recheck")
    op = "mailchimp_list_member_sync_reconciliation"
    result = recheck.execute_in_process(
        instance=sync_world.instance,
        run_config={"ops": {op: {"config": {"run_id": first.run_id}}}},
        raise_on_error=False,
    )

    assert not result.success
    evaluation = check_results(result)[("mailchimp_list_member_sync", RECONCILIATION)]
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["missing"].value == 1
    assert str(lost) in evaluation.metadata["missing_sample"].value


def test_mailchimp_down_records_every_payload_failed(sync_world: SyncWorld) -> None:
    support.control(sync_world.mailchimp, "POST", "faults", {"fault_rate": 1.0})

    result = sync_world.run(START_DATE, SYNC_DAY)

    assert result.success  # failed writes are outcomes (replayable), not a failed run
    support.control(sync_world.mailchimp, "POST", "faults", {"fault_rate": 0.0})
    assert support.all_members(sync_world.mailchimp) == []
    holders = expected_holders(sync_world)
    store = sync_world.store
    for target in TARGETS:
        sent = support.rows(
            store,
            "SELECT an8, outcome, payload IS NOT NULL FROM sync_outcomes WHERE run_id = ? AND target = ? "
            "AND outcome NOT LIKE 'quarantined:%' AND outcome NOT LIKE 'skipped:%' AND outcome <> 'merged'",
            [result.run_id, target],
        )
        assert {an8 for an8, _, _ in sent} == {p.an8 for p in holders.values()}, target
        assert {(outcome, has_payload) for _, outcome, has_payload in sent} == {("failed", True)}
    assert support.rows(store, "SELECT count(*) FROM synced_state") == [(0,)]
    checks = check_results(result)
    for key in SYNC_ASSET_KEYS.values():
        assert not checks[(key.to_user_string(), REJECTION_RATE)].passed
        assert checks[(key.to_user_string(), REJECTION_RATE)].severity == dg.AssetCheckSeverity.WARN
        assert checks[(key.to_user_string(), RECONCILIATION)].passed


def test_configuration_problem_fails_the_run_and_the_audit_says_so(sync_world: SyncWorld) -> None:
    sync_world.configure("mailchimp", list_id="0000000000")

    result = sync_world.run(SYNC_DAY, SYNC_DAY)

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "Audience '0000000000' not found" in failure.event_specific_data.error.to_string()
    [(status,)] = support.rows(
        sync_world.store, "SELECT status FROM sync_runs WHERE run_id = ?", [result.run_id]
    )
    assert status == "failed"
    assert support.write_requests(sync_world.mailchimp) == 0


def _node_of(asset: str) -> str:
    return {
        "parties": "map_parties",
        "mailchimp_list_member_sync": "mailchimp_list_member_sync",
        "mailchimp_ecommerce_customer_sync": "mailchimp_ecommerce_customer_sync",
    }[asset]


def test_a_run_that_pulls_no_party_is_closed_and_applies_retention(sync_world: SyncWorld) -> None:
    """A quiet day still ends `succeeded` in `sync_runs`, and closing a run prunes old raw rows only."""
    first = sync_world.run(START_DATE, SYNC_DAY)
    assert first.success
    store = sync_world.store
    with store.connect() as conn:
        conn.execute("UPDATE jde_pulls SET pulled_at = pulled_at - INTERVAL 3 DAY")
    outcomes_before = support.rows(store, "SELECT count(*) FROM sync_outcomes")
    sync_world.configure("audit", keep_raw_days=2)
    quiet_day = SYNC_DAY + dt.timedelta(days=2)  # after the JDE clock: nothing changed on it

    quiet = sync_world.run(quiet_day, quiet_day)

    assert quiet.success
    assert support.rows(store, "SELECT status FROM sync_runs WHERE run_id = ?", [quiet.run_id]) == [
        ("succeeded",)
    ]
    assert support.rows(store, "SELECT count(*) FROM jde_pulls") == [(0,)]
    assert support.rows(store, "SELECT count(*) FROM sync_outcomes") == outcomes_before


def test_a_range_run_records_each_partitions_own_counts(sync_world: SyncWorld) -> None:
    """The Plots view (asset Overview → Metadata) draws numbers per partition: each partition of a range
    run carries its own counts, and the run's totals are labelled `run_*`, on the run's last partition
    only (with the sample: one copy per run, not one per day)."""
    result = sync_world.run(START_DATE, SYNC_DAY)
    assert result.success
    assert sync_world.instance.get_run_by_id(result.run_id).tags["jde_mc/partitions"] == (
        f"{START_DATE}...{SYNC_DAY}"
    )

    for node, key in (("mailchimp_list_member_sync", None), ("jde_extract", "jde/F0101")):
        found = [
            m
            for m in result.asset_materializations_for_node(node)
            if key is None or m.asset_key.to_user_string() == key
        ]
        own = {m.partition: m.metadata["dagster/row_count"].value for m in found}
        totals = {m.partition: m.metadata["run_rows"].value for m in found if "run_rows" in m.metadata}
        assert len(own) == (SYNC_DAY - START_DATE).days + 1, node
        assert list(totals) == [SYNC_DAY.isoformat()], node
        assert all("sample" not in m.metadata for m in found if m.partition != SYNC_DAY.isoformat()), node
        assert sum(own.values()) == totals[SYNC_DAY.isoformat()], node
        assert len(set(own.values())) > 1, node  # the days differ: no partition shows the run's totals
    members = result.asset_materializations_for_node("mailchimp_list_member_sync")
    [last] = [m for m in members if m.partition == SYNC_DAY.isoformat()]
    for family in ("created", "unchanged", "quarantined", "merged", "failed"):
        assert all(isinstance(m.metadata[family].value, int) for m in members), family
        assert sum(m.metadata[family].value for m in members) == last.metadata[f"run_{family}"].value
    assert sum(m.metadata["created"].value for m in members) > 0

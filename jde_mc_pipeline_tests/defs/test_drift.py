"""`mailchimp_drift` materialized for real: a sync writes the demo parties into the Mailchimp emulator,
the test plays the marketer through the emulator's control endpoints, and the drift report finds each
change once, with its values, reading only what changed after its first run."""

from __future__ import annotations

import json
import time
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import requests

from jde_mc_pipeline.audit.backends import AnyAuditStore, open_store
from jde_mc_pipeline.audit.drift import KINDS
from jde_mc_pipeline.audit.postgres.migrations import upgrade
from jde_mc_pipeline.defs.drift.checks import DRIFT_FINDINGS
from jde_mc_pipeline.defs.drift.definitions import DRIFT_JOB
from jde_mc_pipeline.emulators.ais.demo_udc import UDC_LISTS
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld, check_results
from jde_mc_pipeline_tests.sync import support

pytestmark = pytest.mark.usefixtures("no_clock_skew")
MEMBERS_ROUTE = "GET /lists/{list_id}/members"
CUSTOMERS_ROUTE = "GET /ecommerce/stores/{store_id}/customers"


@pytest.fixture
def no_clock_skew(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator shares this process's clock: no allowance, so that a run re-reads nothing of the last."""
    monkeypatch.setenv("JDE_MC_DRIFT_CLOCK_SKEW_SECONDS", "0")
    monkeypatch.setenv("JDE_MC_DRIFT_WARN_FINDINGS", "3")


def _drift(world: SyncWorld) -> tuple[dict[str, Any], dg.ExecuteInProcessResult]:
    """Materialize mailchimp_drift once; its metadata as plain values."""
    result = world.definitions.resolve_job_def(DRIFT_JOB).execute_in_process(
        instance=world.instance, raise_on_error=False
    )
    assert result.success
    [materialization] = result.asset_materializations_for_node("mailchimp_drift")
    return {k: v.value for k, v in materialization.metadata.items()}, result


def _synced(world: SyncWorld, store: AnyAuditStore | None = None) -> pd.DataFrame:
    """Each written member with the payload of its last write: an8, target_key, email, tags, payload."""
    return (store or world.store).query(
        """
        SELECT s.an8, s.target_key, s.email, s.tags, CAST(o.payload AS VARCHAR) AS payload
        FROM synced_state s JOIN sync_outcomes o
          ON o.an8 = s.an8 AND o.run_id = s.run_id AND o.target = s.target AND o.payload IS NOT NULL
        WHERE s.target = 'list_member' ORDER BY s.an8
        """
    )


def _control(world: SyncWorld, method: str, path: str, body: Any = None) -> None:
    reply = requests.request(method, f"{world.mailchimp.url}/_emulator{path}", json=body, timeout=30)
    assert reply.status_code in (200, 204), reply.text


def _requests(world: SyncWorld) -> dict[str, int]:
    stats = requests.get(f"{world.mailchimp.url}/_emulator/stats", timeout=30).json()
    return {route: sum(by_status.values()) for route, by_status in stats["requests"].items()}


def _findings(world: SyncWorld, store: AnyAuditStore | None = None) -> list[tuple]:
    frame = (store or world.store).query(
        "SELECT an8, target, kind, field, ours, theirs FROM drift_findings ORDER BY an8, kind, field"
    )
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


def _after_a_second() -> None:
    """Mailchimp's `last_changed` has whole seconds: what happens next lands in a later second."""
    time.sleep(1.1)


def test_a_clean_audience_has_no_drift_and_the_next_run_reads_only_what_changed(sync_world: SyncWorld):
    assert sync_world.run().success
    members = len(_synced(sync_world))
    _after_a_second()

    first, result = _drift(sync_world)
    assert first["new_findings"] == 0 and all(first[kind] == 0 for kind in KINDS)
    assert first["members_read"] >= members > 0  # the first run reads the whole audience
    assert first["full_reads"] == ["members", "customer_ids"]
    assert check_results(result)[("mailchimp_drift", DRIFT_FINDINGS)].passed
    assert _findings(sync_world) == []

    _after_a_second()
    before = _requests(sync_world)
    second, _ = _drift(sync_world)
    spent = {route: n - before.get(route, 0) for route, n in _requests(sync_world).items()}
    assert second["members_read"] == 0 and second["full_reads"] == []
    # the changed members (plain and archived) and the two totals; the store's total alone
    assert spent[MEMBERS_ROUTE] == 4 and spent[CUSTOMERS_ROUTE] == 1
    assert sum(spent.values()) == 5

    target = _synced(sync_world).iloc[0]
    _control(
        sync_world, "POST", f"/lists/{sync_world.mailchimp.list_id}/members/{target.target_key}/unsubscribe"
    )
    third, _ = _drift(sync_world)
    assert third["members_read"] == 1 and third["unsubscribed"] == 1 and third["new_findings"] == 1
    runs = sync_world.store.query(
        "SELECT status, window_start IS NULL AS first FROM sync_runs WHERE job = 'mailchimp_drift' "
        "ORDER BY started_at"
    )
    assert runs.values.tolist() == [["succeeded", True], ["succeeded", False], ["succeeded", False]]


def test_each_kind_of_drift_is_found_once_with_its_values(sync_world: SyncWorld):
    assert sync_world.run().success
    _after_a_second()
    assert _drift(sync_world)[0]["new_findings"] == 0

    synced = _synced(sync_world)
    payloads = [json.loads(p) for p in synced["payload"]]
    tagged = [i for i, p in enumerate(payloads) if "JDE Customer" in p.get("tags_active", [])]
    companies = [i for i, p in enumerate(payloads) if p["merge_fields"].get("COMPANY")]
    cast = {}
    for role, pool in (("tag", tagged), ("company", companies), *((k, range(len(synced))) for k in
                       ("unsubscribe", "clean", "archive", "delete-permanent"))):  # fmt: skip
        cast[role] = next(i for i in pool if i not in cast.values())
    list_id = sync_world.mailchimp.list_id
    member = {role: f"/lists/{list_id}/members/{synced['target_key'].iloc[i]}" for role, i in cast.items()}
    an8 = {role: int(synced["an8"].iloc[i]) for role, i in cast.items()}
    for action in ("unsubscribe", "clean", "archive", "delete-permanent"):
        _control(sync_world, "POST", f"{member[action]}/{action}")
    _control(sync_world, "PATCH", member["company"], {"merge_fields": {"COMPANY": "Renamed by hand"}})
    _control(
        sync_world,
        "POST",
        f"{member['tag']}/tags",
        {"tags": [{"name": "JDE Customer", "status": "inactive"}]},
    )
    _control(
        sync_world,
        "POST",
        f"{member['tag']}/tags",
        {"tags": [{"name": "VIP (marketer's)", "status": "active"}]},
    )
    customers = sync_world.store.query(
        "SELECT an8, target_key, email FROM synced_state WHERE target = 'ecommerce_customer' ORDER BY an8"
    )
    gone_customer = customers.iloc[0]
    _control(sync_world, "DELETE", f"/ecommerce/stores/jde-e1/customers/{gone_customer.target_key}")

    _after_a_second()  # the changes fall before this run's watermark: the next run re-reads none of them
    found, result = _drift(sync_world)
    company = payloads[cast["company"]]["merge_fields"]["COMPANY"]
    assert sorted(_findings(sync_world)) == sorted(
        [
            (an8["unsubscribe"], "list_member", "unsubscribed", "status", "subscribed", "unsubscribed"),
            (an8["clean"], "list_member", "cleaned", "status", "subscribed", "cleaned"),
            (an8["archive"], "list_member", "archived", "status", "subscribed", "archived"),
            (
                an8["delete-permanent"],
                "list_member",
                "deleted",
                None,
                synced["email"].iloc[cast["delete-permanent"]],
                None,
            ),
            (an8["company"], "list_member", "merge_field_changed", "COMPANY", company, "Renamed by hand"),
            (an8["tag"], "list_member", "tag_removed", "JDE Customer", "active", "absent"),
            (
                int(gone_customer.an8),
                "ecommerce_customer",
                "customer_missing",
                None,
                gone_customer.email,
                None,
            ),
        ]
    )
    assert found["new_findings"] == 7 and found["full_reads"] == ["member_ids", "customer_ids"]
    assert {k: found[k] for k in KINDS if found[k]} == {
        "unsubscribed": 1, "cleaned": 1, "archived": 1, "deleted": 1, "merge_field_changed": 1,
        "tag_removed": 1, "customer_missing": 1,
    }  # fmt: skip
    assert "Renamed by hand" in found["sample"]
    check = check_results(result)[("mailchimp_drift", DRIFT_FINDINGS)]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN  # 7 above the threshold 3

    _after_a_second()
    again, _ = _drift(sync_world)
    assert again["new_findings"] == 0 and again["members_read"] == 0
    assert len(_findings(sync_world)) == 7


def test_an_owned_tag_we_set_inactive_that_a_marketer_adds_back_is_found(sync_world: SyncWorld):
    regions = UDC_LISTS[("01", "01")]
    segments = json.dumps([{"column": "F0101.AC01", "tag_prefix": "JDE Region: "}])
    sync_world.configure("sync_settings", segment_fields=segments)
    assert sync_world.run().success
    synced = _synced(sync_world)
    payloads = [json.loads(p) for p in synced["payload"]]
    i, old = next(
        (i, tag)
        for i, p in enumerate(payloads)
        for tag in p.get("tags_active", [])
        if tag.startswith("JDE Region: ") and tag != "JDE Region: West"
    )
    an8 = int(synced["an8"].iloc[i])
    support.jde_upsert(sync_world.jde.url, "F0101", [{"ABAN8": an8, "ABAC01": "W"}])  # the party moves West
    assert sync_world.run(SYNC_DAY, SYNC_DAY).success
    moved = json.loads(_synced(sync_world).set_index("an8").loc[an8, "payload"])
    assert old in moved["tags_inactive"] and f"JDE Region: {regions['W']}" in moved["tags_active"]
    _after_a_second()
    assert _drift(sync_world)[0]["new_findings"] == 0

    key = synced["target_key"].iloc[i]
    _control(sync_world, "POST", f"/lists/{sync_world.mailchimp.list_id}/members/{key}/tags",
             {"tags": [{"name": old, "status": "active"}]})  # fmt: skip
    found, _ = _drift(sync_world)
    assert found["new_findings"] == 1
    assert _findings(sync_world) == [(an8, "list_member", "tag_readded", old, "inactive", "active")]


def test_the_drift_report_keeps_its_findings_and_watermark_in_postgresql(sync_world: SyncWorld, postgres_url):
    upgrade(postgres_url)
    sync_world.configure("audit", url=postgres_url)
    store = open_store(postgres_url)
    assert sync_world.run().success
    _after_a_second()
    first, _ = _drift(sync_world)
    assert first["new_findings"] == 0 and first["members_read"] == len(_synced(sync_world, store)) > 0

    synced = _synced(sync_world, store)
    list_id = sync_world.mailchimp.list_id
    gone = synced.iloc[0]
    edited = next(  # a company: it has no first name of ours, so FNAME is the marketer's to fill
        row
        for row in synced.iloc[1:].itertuples()
        if "COMPANY" in (fields := json.loads(row.payload)["merge_fields"]) and "FNAME" not in fields
    )
    _control(sync_world, "POST", f"/lists/{list_id}/members/{gone.target_key}/unsubscribe")
    _control(
        sync_world,
        "PATCH",
        f"/lists/{list_id}/members/{edited.target_key}",
        {"merge_fields": {"COMPANY": "Hand", "FNAME": "Marketer's"}},
    )
    _after_a_second()
    found, _ = _drift(sync_world)
    sent = json.loads(edited.payload)["merge_fields"]["COMPANY"]
    assert found["members_read"] == 2 and found["new_findings"] == 2
    assert _findings(sync_world, store) == sorted(
        [
            (int(gone.an8), "list_member", "unsubscribed", "status", "subscribed", "unsubscribed"),
            (int(edited.an8), "list_member", "merge_field_changed", "COMPANY", sent, "Hand"),
        ]
    )
    _after_a_second()
    again, _ = _drift(sync_world)
    assert again["new_findings"] == 0 and again["members_read"] == 0
    runs = store.query(
        "SELECT count(*) AS n FROM sync_runs WHERE job = 'mailchimp_drift' AND status = 'succeeded'"
    )
    assert int(runs["n"].iloc[0]) == 3


def test_selected_with_the_sync_the_drift_report_steps_aside(sync_world: SyncWorld):
    """`--select '*'` over a range (the README's example) or "Materialize all" selects the drift report
    with the sync: it reads nothing there, so the run's row in sync_runs stays the sync's."""
    result = sync_world.run(job="__ASSET_JOB")

    assert result.success
    assert result.asset_materializations_for_node("mailchimp_list_member_sync")
    assert not result.asset_materializations_for_node("mailchimp_drift")
    runs = sync_world.store.query("SELECT job, status FROM sync_runs WHERE run_id = ?", [result.run_id])
    assert runs.to_dict("records") == [{"job": result.dagster_run.job_name, "status": "succeeded"}]
    assert _requests(sync_world).get(MEMBERS_ROUTE, 0) == 0
    assert not _findings(sync_world)


def test_a_contact_already_unsubscribed_when_we_wrote_it_is_not_news(sync_world: SyncWorld):
    """Unsubscribed, then updated by the sync (Mailchimp keeps the status and says so in its answer): the
    drift report compares with the status of that answer, so it finds nothing for the contact."""
    assert sync_world.run().success
    target = _synced(sync_world).iloc[0]
    path = f"/lists/{sync_world.mailchimp.list_id}/members/{target.target_key}"
    _control(sync_world, "POST", f"{path}/unsubscribe")
    renamed = {"ABAN8": int(target.an8), "ABALPH": "Renamed While Unsubscribed"}
    support.jde_upsert(sync_world.jde.url, "F0101", [renamed])
    assert sync_world.run(SYNC_DAY, SYNC_DAY).success
    member = support.api(sync_world.mailchimp, "GET", path).json()
    assert member["status"] == "unsubscribed"
    assert member["merge_fields"]["COMPANY"] == "Renamed While Unsubscribed"
    _after_a_second()

    report, _ = _drift(sync_world)

    assert report["unsubscribed"] == 0 and report["new_findings"] == 0
    assert _findings(sync_world) == []


def test_a_contact_set_pending_elsewhere_is_found_once(sync_world: SyncWorld):
    """`pending` has no marketer button: another tool re-sends the opt-in confirmation through the API
    (PATCH status), which the drift report finds once, with the status then and now."""
    assert sync_world.run().success
    _after_a_second()
    assert _drift(sync_world)[0]["new_findings"] == 0
    target = _synced(sync_world).iloc[0]
    path = f"/lists/{sync_world.mailchimp.list_id}/members/{target.target_key}"
    assert support.api(sync_world.mailchimp, "PATCH", path, {"status": "pending"}).ok
    _after_a_second()

    first, _ = _drift(sync_world)
    _after_a_second()
    again, _ = _drift(sync_world)

    assert first["pending"] == 1 and first["new_findings"] == 1
    assert again["new_findings"] == 0
    assert _findings(sync_world) == [
        (int(target.an8), "list_member", "pending", "status", "subscribed", "pending")
    ]

"""`JDE_MC_RESEND_DRIFTED`: the drift report marks owned-field drift, and the next sync writes those
records' owned fields again (pulling their parties along), never a status and never to a contact that
unsubscribed; the findings it repaired are resolved by that run."""

from __future__ import annotations

import json

import pytest
import requests

from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.defs.test_drift import (  # noqa: F401 (no_clock_skew: a fixture)
    _after_a_second,
    _control,
    _drift,
    _synced,
    no_clock_skew,
)

pytestmark = pytest.mark.usefixtures("no_clock_skew")


def _member(world: SyncWorld, key: str) -> dict:
    reply = requests.get(
        f"{world.mailchimp.api_url.replace('{dc}', world.mailchimp.api_key.rpartition('-')[2])}"
        f"/lists/{world.mailchimp.list_id}/members/{key}",
        auth=("x", world.mailchimp.api_key),
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _customer_exists(world: SyncWorld, customer_id: str) -> bool:
    base = world.mailchimp.api_url.replace("{dc}", world.mailchimp.api_key.rpartition("-")[2])
    reply = requests.get(
        f"{base}/ecommerce/stores/jde-e1/customers/{customer_id}",
        auth=("x", world.mailchimp.api_key),
        timeout=30,
    )
    return reply.status_code == 200


def test_the_next_sync_sends_the_owned_fields_again_and_never_a_status(sync_world: SyncWorld):
    sync_world.configure("sync_settings", resend_drifted=True)
    assert sync_world.run().success
    _after_a_second()
    assert _drift(sync_world)[0]["new_findings"] == 0

    synced = _synced(sync_world)
    payloads = [json.loads(p) for p in synced["payload"]]
    both = [
        i
        for i, p in enumerate(payloads)
        if p["merge_fields"].get("COMPANY") and "JDE Customer" in p.get("tags_active", [])
    ]
    edited, unsubscribed = both[0], both[1]
    path = {
        i: f"/lists/{sync_world.mailchimp.list_id}/members/{synced['target_key'].iloc[i]}" for i in both[:2]
    }
    _control(sync_world, "PATCH", path[edited], {"merge_fields": {"COMPANY": "Edited by hand"}})
    _control(
        sync_world, "POST", f"{path[edited]}/tags", {"tags": [{"name": "JDE Customer", "status": "inactive"}]}
    )
    _control(
        sync_world, "POST", f"{path[edited]}/tags", {"tags": [{"name": "Marketer's own", "status": "active"}]}
    )
    _control(sync_world, "PATCH", path[unsubscribed], {"merge_fields": {"COMPANY": "Theirs now"}})
    _control(sync_world, "POST", f"{path[unsubscribed]}/unsubscribe")
    customer = sync_world.store.query(
        "SELECT an8, target_key FROM synced_state WHERE target = 'ecommerce_customer' ORDER BY an8 LIMIT 1"
    ).iloc[0]
    _control(sync_world, "DELETE", f"/ecommerce/stores/jde-e1/customers/{customer.target_key}")
    found, _ = _drift(sync_world)
    marked = sync_world.store.query("SELECT an8, kind, resend FROM drift_findings ORDER BY an8, kind")
    an8 = {
        name: int(synced["an8"].iloc[i]) for name, i in (("edited", edited), ("unsubscribed", unsubscribed))
    }
    assert found["new_findings"] == 5
    assert sorted(marked.itertuples(index=False, name=None)) == sorted(
        [
            (an8["edited"], "merge_field_changed", True),
            (an8["edited"], "tag_removed", True),
            (an8["unsubscribed"], "merge_field_changed", True),  # marked, but its contact unsubscribed
            (an8["unsubscribed"], "unsubscribed", False),
            (int(customer.an8), "customer_missing", True),
        ]
    )

    repair = sync_world.run(SYNC_DAY, SYNC_DAY)
    assert repair.success
    run_id = repair.run_id

    member = _member(sync_world, synced["target_key"].iloc[edited])
    assert member["merge_fields"]["COMPANY"] == payloads[edited]["merge_fields"]["COMPANY"]
    assert {t["name"] for t in member["tags"]} >= {"JDE Customer", "Marketer's own"}
    gone = _member(sync_world, synced["target_key"].iloc[unsubscribed])
    assert gone["status"] == "unsubscribed" and gone["merge_fields"]["COMPANY"] == "Theirs now"
    assert _customer_exists(sync_world, customer.target_key)

    bodies = sync_world.store.query(
        "SELECT CAST(request_body AS VARCHAR) AS body FROM mailchimp_writes "
        "WHERE run_id = ? AND target = 'list_member' AND request_body IS NOT NULL",
        [run_id],
    )["body"]
    sent = [m for body in bodies for m in json.loads(body).get("members", [])]
    assert sent and all("status" not in m for m in sent)
    assert synced["email"].iloc[unsubscribed] not in {m["email_address"].lower() for m in sent}

    left = sync_world.store.query("SELECT an8, kind, resolved_by FROM drift_findings ORDER BY an8, kind")
    left = left.astype(object).where(left.notna(), None)
    resolved = left.loc[left["resolved_by"].notna()]
    assert set(resolved["resolved_by"]) == {run_id}
    assert set(resolved["an8"]) == {int(synced["an8"].iloc[edited]), int(customer.an8)}
    assert left.loc[left["an8"] == int(synced["an8"].iloc[unsubscribed]), "resolved_by"].isna().all()

    _after_a_second()
    after, _ = _drift(sync_world)
    assert after["new_findings"] == 0
    assert after["members_read"] >= 1  # the repaired member changed again, and now agrees

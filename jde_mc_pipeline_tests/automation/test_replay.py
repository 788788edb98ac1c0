"""Issue 5's proof for `mailchimp_replay`: a sync run while Mailchimp faults at 100 % records every write
`failed`; the replay with faults off brings Mailchimp to the state a healthy run would have made, the
audit shows it, and a second replay does nothing."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import requests

from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline_tests.defs.sync_world import SyncWorld
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi

WRITES = ("created", "updated", "renamed")


def set_faults(world: SyncWorld, **settings) -> None:
    response = requests.post(f"{world.mailchimp.url}/_emulator/faults", json=settings, timeout=10)
    response.raise_for_status()


def replay(world: SyncWorld, run_id: str | None = None) -> dg.ExecuteInProcessResult:
    config = {} if run_id is None else {"run_id": run_id}
    return world.definitions.resolve_job_def("mailchimp_replay").execute_in_process(
        instance=world.instance, run_config={"ops": {"replay_mailchimp_failures": {"config": config}}}
    )


def query(world: SyncWorld, sql: str, *params) -> pd.DataFrame:
    with world.store.connect() as conn:
        return conn.execute(sql, list(params)).df()


def outcomes(world: SyncWorld, run_id: str) -> pd.DataFrame:
    return query(world, "SELECT * FROM sync_outcomes WHERE run_id = ?", run_id)


def replay_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    return {k: v.value for k, v in event.event_specific_data.metadata.items()}


def mailchimp_contents(world: SyncWorld) -> tuple[set[str], set[str]]:
    """The audience's member e-mails and the store's customer ids (none while no store), over the API."""
    api = MailchimpApi(world.mailchimp)
    store_id = world.resources["mailchimp"].store_id
    try:
        members = api.request("GET", f"{api.members_path()}?count=1000&fields=members.email_address").json()
        answer = api.request("GET", f"/ecommerce/stores/{store_id}/customers?count=1000&fields=customers.id")
        customers = {"customers": []} if answer.status_code == 404 else answer.json()
    finally:
        api.close()
    return (
        {m["email_address"] for m in members["members"]},
        {c["id"] for c in customers["customers"]},
    )


def sent_payloads(rows: pd.DataFrame, target: str, key: str) -> set[str]:
    return {json.loads(p)[key] for p in rows.loc[rows["target"] == target, "payload"]}


def test_a_run_while_mailchimp_faults_then_replay_fixes_it(sync_world: SyncWorld) -> None:
    set_faults(sync_world, fault_rate=1.0, kinds=["500", "503", "reset"])
    sync = sync_world.run()
    assert sync.success
    run_id = sync.run_id
    failed_run = outcomes(sync_world, run_id)
    failed = failed_run.loc[failed_run["outcome"] == "failed"]
    assert not failed_run["outcome"].isin(WRITES).any()  # nothing reached Mailchimp
    assert set(failed["target"]) == {LIST_MEMBER, ECOMMERCE_CUSTOMER}
    assert failed["payload"].notna().all()

    set_faults(sync_world, fault_rate=0.0)
    assert mailchimp_contents(sync_world) == (set(), set())
    first = replay(sync_world, run_id)

    assert first.success
    meta = replay_metadata(first)
    assert (meta["replayed"], meta["resolved"], meta["still_failed"]) == (len(failed), len(failed), 0)
    assert meta["runs_fixed"] == [run_id]
    members, customers = mailchimp_contents(sync_world)
    assert members == sent_payloads(failed, LIST_MEMBER, "email_address")
    assert customers == sent_payloads(failed, ECOMMERCE_CUSTOMER, "customer_id")
    old = outcomes(sync_world, run_id)
    assert (old.loc[old["outcome"] == "failed", "resolved_by"] == first.run_id).all()
    new = outcomes(sync_world, first.run_id)
    assert len(new) == len(failed) and new["outcome"].isin(WRITES).all()
    writes = query(sync_world, "SELECT count(*) AS n FROM mailchimp_writes WHERE run_id = ?", first.run_id)
    assert writes["n"].iloc[0] > 0
    (status,) = query(sync_world, "SELECT status FROM sync_runs WHERE run_id = ?", first.run_id)["status"]
    assert status == "succeeded"

    second = replay(sync_world)  # every unresolved failure: there is none left

    assert second.success
    assert replay_metadata(second)["replayed"] == 0
    assert outcomes(sync_world, second.run_id).empty
    assert (
        query(sync_world, "SELECT count(*) AS n FROM mailchimp_writes WHERE run_id = ?", second.run_id)[
            "n"
        ].iloc[0]
        == 0
    )
    assert mailchimp_contents(sync_world) == (members, customers)

    rerun = sync_world.run()  # the synced state advanced with the replay: nothing left to write
    assert rerun.success
    assert not outcomes(sync_world, rerun.run_id)["outcome"].isin(WRITES).any()

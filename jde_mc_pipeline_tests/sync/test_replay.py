"""Mailchimp failing at 100 %: every party with a payload ends `failed`; replay with faults off repairs it.

Fault kinds are limited to 500/503/reset: the emulator's `slow` kind answers normally after a delay,
which a client with a long enough timeout would see as a success.
"""

from __future__ import annotations

import json

from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.sync.replay import replay_failures
from jde_mc_pipeline.sync.writes import TargetBatch, map_frames, prepare_mailchimp, push_target
from jde_mc_pipeline_tests.sync.support import all_members, control, customer, rows, write_requests

FAULTS_ON = {"fault_rate": 1.0, "kinds": ["500", "503", "reset"]}
FAULTS_OFF = {"fault_rate": 0.0}


def test_replay_after_a_run_with_mailchimp_down_brings_mailchimp_to_the_right_state(
    sync, store, settings, mc_server, mc_client
):
    control(mc_server, "POST", "faults", FAULTS_ON)
    failed_run = sync("r1")
    control(mc_server, "POST", "faults", FAULTS_OFF)

    outcomes = failed_run.outcomes
    payload_keys = {(int(k), LIST_MEMBER) for k in failed_run.result.members["key"]} | {
        (int(k), ECOMMERCE_CUSTOMER) for k in failed_run.result.customers["key"]
    }
    sent = outcomes.loc[outcomes["payload"].notna()]
    assert set(zip(sent["an8"], sent["target"], strict=True)) == payload_keys
    assert set(sent["outcome"]) == {"failed"}
    assert failed_run.reconciliation.ok
    assert all_members(mc_server) == []

    replayed = replay_failures(store, mc_client, settings, run_id=None, replay_run_id="replay-1")

    assert len(replayed) == len(payload_keys)
    assert set(replayed["outcome"]) == {"created"} and replayed["resolved"].all()
    members = {m["email_address"]: m for m in all_members(mc_server)}
    assert set(members) == set(failed_run.result.members["email_address"])
    for payload in failed_run.result.members.itertuples():
        held = members[payload.email_address]
        assert held["merge_fields"]["JDEAN8"] == payload.key
        assert held["status"] == "subscribed"
    for payload in failed_run.result.customers.itertuples():
        assert customer(mc_server, payload.customer_id)["email_address"] == payload.email_address
    open_failures = rows(
        store, "SELECT count(*) FROM sync_outcomes WHERE outcome = 'failed' AND resolved_by IS NULL"
    )
    assert open_failures == [(0,)]
    resolved = rows(
        store, "SELECT DISTINCT resolved_by FROM sync_outcomes WHERE run_id = 'r1' AND outcome = 'failed'"
    )
    assert resolved == [("replay-1",)]
    [(status,)] = rows(store, "SELECT status FROM sync_runs WHERE run_id = 'replay-1'")
    assert status == "succeeded"
    assert rows(store, "SELECT count(*) FROM mailchimp_writes WHERE run_id = 'replay-1'")[0][0] > 0

    writes = write_requests(mc_server)
    again = replay_failures(store, mc_client, settings, run_id=None, replay_run_id="replay-2")
    assert again.empty
    assert write_requests(mc_server) == writes
    third = sync("r3").outcomes
    assert set(third.loc[third["an8"].isin(failed_run.result.members["key"].astype(int)), "outcome"]) == {
        "unchanged"
    }
    assert write_requests(mc_server) == writes


def test_failed_pushes_keep_replayable_payloads_and_a_later_run_supersedes_them(
    ais, sync, store, settings, mc_server, mc_client
):
    from jde_mc_pipeline.jde.extract import extract_through
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

    prepare_mailchimp(mc_client, settings)
    with ais:
        frames = extract_through(ais, DATASET_NOW.date()).frames
    result = map_frames(frames, settings, None, DATASET_NOW.date())
    control(mc_server, "POST", "faults", FAULTS_ON)
    members = push_target(mc_client, TargetBatch.of(result, LIST_MEMBER), settings)
    customers = push_target(mc_client, TargetBatch.of(result, ECOMMERCE_CUSTOMER), settings)
    control(mc_server, "POST", "faults", FAULTS_OFF)
    assert set(members["outcome"]) == {"failed"} and set(customers["outcome"]) == {"failed"}
    first = json.loads(members["payload"].iloc[0])  # the record as JSON text, as the audit stores it
    assert first["email_address"] == result.members["email_address"].iloc[0]
    store.record_outcomes("push-failed", None, members)
    store.record_outcomes("push-failed", None, customers)

    sync("later")  # writes everything: the failures of push-failed are now out of date
    writes = write_requests(mc_server)
    replayed = replay_failures(store, mc_client, settings, run_id="push-failed", replay_run_id="replay-1")

    assert set(replayed["outcome"]) == {"superseded"}
    assert replayed["resolved"].all()
    assert write_requests(mc_server) == writes
    assert rows(
        store, "SELECT count(*) FROM sync_outcomes WHERE resolved_by IS NULL AND outcome = 'failed'"
    ) == [(0,)]


def test_a_customer_failure_is_not_replayed_once_another_run_decided_its_member(
    ais, sync, store, settings, mc_server, mc_client
):
    """A sync run that decided the member (maybe under a new e-mail) decides the customer next; a replay
    landing between its two steps must leave the old customer payload alone, or it would re-create the
    customer under the old e-mail, and Mailchimp would add that address as a transactional contact."""
    from jde_mc_pipeline.jde.extract import extract_through
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

    prepare_mailchimp(mc_client, settings)
    with ais:
        frames = extract_through(ais, DATASET_NOW.date()).frames
    result = map_frames(frames, settings, None, DATASET_NOW.date())
    control(mc_server, "POST", "faults", FAULTS_ON)
    members = push_target(mc_client, TargetBatch.of(result, LIST_MEMBER), settings)
    customers = push_target(mc_client, TargetBatch.of(result, ECOMMERCE_CUSTOMER), settings)
    control(mc_server, "POST", "faults", FAULTS_OFF)
    store.record_outcomes("push-failed", None, members)
    store.record_outcomes("push-failed", None, customers)
    store.record_outcomes("later", None, members.assign(outcome="renamed"))  # its customers still to come
    writes = write_requests(mc_server)

    replayed = replay_failures(store, mc_client, settings, run_id="push-failed", replay_run_id="replay-1")

    assert set(replayed.loc[replayed["target"] == ECOMMERCE_CUSTOMER, "outcome"]) == {"superseded"}
    assert set(replayed.loc[replayed["target"] == ECOMMERCE_CUSTOMER, "reason"]) == {
        "a later run decided renamed (later)"
    }
    assert write_requests(mc_server) == writes

"""mapping.md §3–§4 over runs, over real HTTP and a real DuckDB file: members before customers, leaving
scope with each `on_leave`, blanks that clear, and the mapping events in the audit.

The JDE side is the 30-party dataset of jde/conftest.py (customers 1001-1020, vendors 1021-1025); every
sync reads all of its history, so a party changed in JDE between two syncs is seen by the second.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.outcomes import REASON_WAITING_FOR_MEMBER
from jde_mc_pipeline.sync.replay import replay_failures
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import (
    control,
    customer,
    jde_delete,
    jde_upsert,
    member,
    rows,
    stamp,
    tag_names,
    write_requests,
)

LATER = stamp(date(2025, 11, 26), 120000)
MEMBERS_DOWN = {"fault_rate": 1.0, "kinds": ["503"], "endpoints": ["POST /lists/{list_id}"]}


def outcome(report, an8: int, target: str) -> tuple[str, str]:
    frame = report.outcomes
    row = frame.loc[(frame["an8"] == an8) & (frame["target"] == target)].iloc[0]
    return row["outcome"], row["reason"]


def customer_puts(server) -> int:
    stats = control(server, "GET", "stats")["requests"]
    return sum(stats.get("PUT /ecommerce/stores/{store_id}/customers/{customer_id}", {}).values())


def test_a_customer_waits_for_its_member_and_the_replay_sends_members_first(
    sync, store, settings, mc_server, mc_client
):
    control(mc_server, "POST", "faults", MEMBERS_DOWN)
    first = sync("r1")
    control(mc_server, "POST", "faults", {"fault_rate": 0.0, "endpoints": []})

    assert outcome(first, 1010, "list_member")[0] == "failed"
    assert outcome(first, 1010, "ecommerce_customer") == ("failed", REASON_WAITING_FOR_MEMBER)
    assert customer_puts(mc_server) == 0  # no customer was written before its member
    assert member(mc_server, subscriber_hash("party10@example.com")) is None
    assert first.reconciliation.ok

    replayed = replay_failures(store, mc_client, settings, run_id="r1", replay_run_id="replay")

    assert replayed["resolved"].all() and set(replayed["outcome"]) == {"created"}
    held = member(mc_server, subscriber_hash("party10@example.com"))
    assert held["status"] == "subscribed"  # not transactional: the member came first
    assert customer(mc_server, subscriber_hash("party10@example.com")) is not None
    order = rows(
        store,
        "SELECT target FROM mailchimp_writes WHERE run_id = 'replay' AND method IN ('POST', 'PUT') "
        "AND target IS NOT NULL ORDER BY written_at",
    )
    assert order[0] == ("list_member",) and order[-1] == ("ecommerce_customer",)


def leave(jde_emulator, jde_dataset, an8: int) -> None:
    """The vendor becomes an employee: no role left."""
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == an8]
    jde_upsert(jde_emulator.url, "F0101", [{**row, "ABAT1": "E", "ABUPMJ": LATER["UPMJ"]}])


@pytest.mark.parametrize("action", ["untag", "archive", "none"])
def test_a_party_leaving_scope_gets_the_on_leave_action_once(
    action, sync, settings, mc_server, jde_emulator, jde_dataset
):
    options = MappingOptions(on_leave=action)
    object.__setattr__(settings, "mapping", options)
    sync("r1")
    hash_ = subscriber_hash("party22@example.com")
    assert tag_names(mc_server, hash_) == {"JDE Vendor"}
    leave(jde_emulator, jde_dataset, 1022)
    before = write_requests(mc_server)

    second = sync("r2")

    for target in ("list_member", "ecommerce_customer"):
        assert outcome(second, 1022, target)[0] == "left_scope:no_role"
    held = member(mc_server, hash_)
    if action == "untag":
        assert tag_names(mc_server, hash_) == set() and held["status"] == "subscribed"
        assert customer(mc_server, hash_) is not None
    elif action == "archive":
        assert held["status"] == "archived" and customer(mc_server, hash_) is None
    else:
        assert tag_names(mc_server, hash_) == {"JDE Vendor"} and write_requests(mc_server) == before
    writes = write_requests(mc_server)

    third = sync("r3")  # still out of scope: nothing more is sent

    assert write_requests(mc_server) == writes
    assert outcome(third, 1022, "list_member")[0] == "unchanged"
    assert "left scope in run r2" in outcome(third, 1022, "list_member")[1]


def test_a_party_back_in_scope_is_synced_again(sync, mc_server, jde_emulator, jde_dataset):
    sync("r1")
    leave(jde_emulator, jde_dataset, 1022)
    sync("r2")
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == 1022]
    jde_upsert(jde_emulator.url, "F0101", [{**row, "ABAT1": "V", "ABUPMJ": LATER["UPMJ"]}])

    back = sync("r3")

    assert outcome(back, 1022, "list_member")[0] == "updated"
    assert tag_names(mc_server, subscriber_hash("party22@example.com")) == {"JDE Vendor"}


def test_a_party_deleted_in_jde_leaves_scope_when_the_reconciliation_names_it(
    ais, sync, store, mc_server, jde_emulator
):
    from jde_mc_pipeline.audit.state import DuckDBSyncedState
    from jde_mc_pipeline.sync.scope import scope_changes

    sync("r1")
    for table, key in (("F0101", {"ABAN8": 1023}), ("F0111", {"WWAN8": 1023, "WWIDLN": 0})):
        jde_delete(jde_emulator.url, table, [key])
    with ais:
        found = scope_changes(ais, DuckDBSyncedState(store), MappingOptions())

    assert found.deleted.tolist() == [1023] and found.drifted.tolist() == []
    report = sync("r2", deleted=[1023])
    assert outcome(report, 1023, "list_member")[0] == "left_scope:deleted_in_jde"
    assert tag_names(mc_server, subscriber_hash("party23@example.com")) == set()
    assert report.reconciliation.ok


def test_blank_clears_empties_customer_fields_and_the_audit_records_what_was_sent(
    sync, store, settings, mc_server, jde_emulator, jde_dataset
):
    sync("r1")
    assert customer(mc_server, subscriber_hash("party11@example.com"))["company"] == "Party 11"
    object.__setattr__(settings, "mapping", replace(settings.mapping, blank_clears=True))
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == 1011]
    jde_upsert(jde_emulator.url, "F0101", [{**row, "ABALPH": "", "ABUPMJ": LATER["UPMJ"]}])

    sync("r2")

    assert customer(mc_server, subscriber_hash("party11@example.com"))["company"] == ""
    assert member(mc_server, subscriber_hash("party11@example.com"))["merge_fields"]["COMPANY"] == ""
    mapped = rows(
        store,
        "SELECT target, mapped_value FROM mapped_values WHERE run_id = 'r2' AND an8 = 1011 "
        "AND field IN ('company', 'COMPANY') ORDER BY target",
    )
    assert mapped == [("ecommerce_customer", ""), ("list_member", "")]
    [(body,)] = rows(
        store,
        "SELECT request_body::VARCHAR FROM mailchimp_writes WHERE run_id = 'r2' AND method = 'PUT' "
        "AND target = 'ecommerce_customer' AND record_key = '1011'",
    )
    assert '"company":""' in body.replace(" ", "")


def test_mapping_events_are_recorded_per_party(sync, store):
    sync("r1")
    found = set(rows(store, "SELECT an8, target, event FROM mapping_events WHERE run_id = 'r1'"))
    assert (1007, "list_member", "address_incomplete") in found  # 1007 has no state (ADDS) in JDE
    [(detail, partition)] = rows(
        store,
        "SELECT detail, partition_key FROM mapping_events WHERE run_id = 'r1' AND an8 = 1007 "
        "AND event = 'address_incomplete'",
    )
    assert detail == "missing: state" and partition is None


def test_a_run_with_the_same_data_after_every_kind_of_outcome_writes_nothing(
    sync, mc_server, jde_emulator, jde_dataset
):
    sync("r1")
    leave(jde_emulator, jde_dataset, 1022)
    sync("r2")
    writes = write_requests(mc_server)
    again = sync("r3")
    assert write_requests(mc_server) == writes
    assert set(again.outcomes["outcome"]) <= {
        "unchanged",
        "merged",
        "skipped:out_of_scope",
        "quarantined:no_email",
        "quarantined:invalid_email",
    }

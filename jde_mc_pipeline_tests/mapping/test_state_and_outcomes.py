"""mapping.md §3 e-mail changes and tags, §5 outcomes, change detection, quarantine and contracts."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from jde_mc_pipeline.audit.backends import AnySyncedState, open_store, synced_state
from jde_mc_pipeline.audit.state import memory_state
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.changes import email_hash
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS, MappingOptions
from jde_mc_pipeline.mapping.schemas import StructureError
from jde_mc_pipeline_tests.audit.conftest import audit_location
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party, remember, synced

NOW = datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC)


@pytest.fixture(params=["duckdb", "postgres"])
def state(request) -> AnySyncedState:
    """The synced state the tests map against: in DuckDB's memory, and in a PostgreSQL database."""
    if request.param == "duckdb":
        return memory_state()
    return synced_state(open_store(audit_location(request, request.param)))


def mapped(tables, state=None, options=None):
    return map_batch(frames(**tables), options or MappingOptions(), state=state, today=TODAY)


def outcomes_of(result, an8):
    rows = result.outcomes.loc[result.outcomes["an8"] == an8]
    return dict(zip(rows["target"], zip(rows["outcome"], rows["reason"], strict=True), strict=True))


def event_set(result):
    return set(result.events.itertuples(index=False, name=None))


def test_unchanged_party_costs_nothing_the_second_time(state):
    tables = party(1)
    first = mapped(tables)
    second = mapped(tables, synced(first, state))
    assert second.members.empty and second.customers.empty
    assert outcomes_of(second, 1) == {LIST_MEMBER: ("unchanged", ""), ECOMMERCE_CUSTOMER: ("unchanged", "")}
    row = second.outcomes.loc[second.outcomes["target"] == LIST_MEMBER].iloc[0]
    assert (row["target_key"], row["payload_hash"]) == (
        first.members["target_key"][0],
        first.members["payload_hash"][0],
    )


def test_changed_field_is_sent_again_with_a_new_hash(state):
    first = mapped(party(1, first="Ann"))
    second = mapped(party(1, first="Anna"), synced(first, state))
    assert second.members["key"].tolist() == ["1"] and second.customers["key"].tolist() == ["1"]
    assert second.members["payload_hash"][0] != first.members["payload_hash"][0]
    assert second.outcomes.empty


def test_hash_ignores_the_order_of_rows_and_the_update_stamps(state):
    tables = combine(party(1, email="a@example.com"), party(2, email="b@example.com"))
    first = mapped(tables)
    shuffled = {name: rows[::-1] for name, rows in tables.items()}
    restamped = {name: [{**row, "UPMT": 120000} for row in rows] for name, rows in shuffled.items()}
    second = mapped(restamped, synced(first, state))
    assert second.members.empty and set(second.outcomes["outcome"]) == {"unchanged"}


def test_email_change_renames_the_member_and_replaces_the_customer(state):
    first = mapped(party(1, email="old@example.com"))
    second = mapped(party(1, email="new@example.com"), synced(first, state))
    assert second.members["previous_email"].tolist() == ["old@example.com"]
    assert second.members["email_address"].tolist() == ["new@example.com"]
    assert second.members["retires"].tolist() == [()]  # the renamed member is the old one
    customer = second.customers.iloc[0]
    assert customer["customer_id"] == email_hash("new@example.com") == customer["target_key"]
    assert customer["previous_email"] == "old@example.com"
    assert customer["retires"] == (email_hash("old@example.com"),)  # deleted once the new one is written


def test_customer_ids_are_the_email_hash_and_shared_emails_share_one():
    result = mapped(combine(party(1, email="Ann@Example.com"), party(2, email="ann@example.com")))
    assert result.customers["customer_id"].tolist() == [email_hash("ann@example.com")]
    assert result.customers["an8s"].tolist() == ["1,2"]
    merged = result.outcomes.loc[result.outcomes["an8"] == 2]
    assert set(merged["outcome"]) == {"merged"}
    assert set(merged["target_key"]) == {email_hash("ann@example.com")}  # the audit maps AN8 → record


def test_email_change_onto_another_records_email_upserts_it_and_retires_the_old_one(state):
    first = mapped(combine(party(1, email="old@example.com"), party(2, email="taken@example.com")))
    synced(first, state)
    # Party 2 comes along: the state says it holds taken@ (sync/companions.py pulls it).
    second = mapped(combine(party(1, email="taken@example.com"), party(2, email="taken@example.com")), state)
    assert second.members["previous_email"].tolist() == [None]
    assert second.members["email_address"].tolist() == ["taken@example.com"]
    assert second.members["retires"].tolist() == [(email_hash("old@example.com"),)]
    assert second.members["retire_tags"].tolist() == [("JDE Customer", "JDE Vendor")]
    assert second.customers["retires"].tolist() == [(email_hash("old@example.com"),)]
    assert second.customers["previous_email"].tolist() == ["old@example.com"]
    assert {
        (1, LIST_MEMBER, "email_taken", "held by 2"),
        (1, LIST_MEMBER, "old_member_left", "old@example.com"),
        (1, ECOMMERCE_CUSTOMER, "email_taken", "held by 2"),
    } <= event_set(second)


def test_on_leave_none_leaves_the_old_member_tagged(state):
    options = MappingOptions(on_leave="none")
    first = mapped(
        combine(party(1, email="old@example.com"), party(2, email="taken@example.com")), options=options
    )
    tables = combine(party(1, email="taken@example.com"), party(2, email="taken@example.com"))
    second = mapped(tables, synced(first, state), options)
    assert second.members["retires"].tolist() == [()]
    assert second.customers["retires"].tolist() == [(email_hash("old@example.com"),)]


def test_no_rename_while_the_old_email_is_still_someone_elses(state):
    first = mapped(
        combine(
            party(1, email="shared@example.com", upmj="2026-02-01"),
            party(2, email="shared@example.com", upmj="2026-01-01"),
        )
    )
    assert first.members["key"].tolist() == ["1"]
    tables = combine(
        party(1, email="mine@example.com", upmj="2026-03-01"),
        party(2, email="shared@example.com", upmj="2026-01-01"),
    )
    second = mapped(tables, synced(first, state))
    by_key = second.members.set_index("key")
    assert by_key.loc["1", "previous_email"] is None and by_key.loc["2", "previous_email"] is None
    assert (1, LIST_MEMBER, "old_email_shared", "shared@example.com") in event_set(second)


def test_lost_role_sets_its_tag_inactive_once(state):
    tables = party(1, at1="V")
    tables["F03012"] = [{"AN8": 1, "CO": "00001"}]
    synced(mapped(tables), state)
    second = mapped(party(1, at1="V"), state)
    assert second.members["tags_active"].tolist() == [("JDE Vendor",)]
    assert second.members["tags_inactive"].tolist() == [("JDE Customer",)]
    assert (1, LIST_MEMBER, "role_lost", "JDE Customer") in event_set(second)
    third = mapped(party(1, at1="V"), synced(second, state))
    assert third.members.empty and outcomes_of(third, 1)[LIST_MEMBER] == ("unchanged", "")


def test_marketer_tags_in_the_state_are_never_touched(state):
    remember(
        state, LIST_MEMBER, 1, email_hash("ann@example.com"), "ann@example.com", "x", ("VIP", "JDE Customer")
    )
    result = mapped(party(1), state)
    assert result.members["tags_inactive"].tolist() == [()]


def test_blank_email_quarantine_and_invalid_email_quarantine_keep_their_source():
    tables = combine(party(1, email=None), party(2, email="nobody at example"))
    result = mapped(tables)
    assert outcomes_of(result, 1) == {t: ("quarantined:no_email", "") for t in TARGETS}
    assert outcomes_of(result, 2) == {t: ("quarantined:invalid_email", "nobody at example") for t in TARGETS}
    trail = result.trail.loc[result.trail["an8"] == 2]
    assert trail["source_value"].tolist() == ["nobody at example"] * 2 and trail["mapped_value"].isna().all()


def test_rows_without_an_address_book_row_are_accounted_for():
    tables = party(1)
    tables["F0116"] = [{"AN8": 99, "ADD1": "orphan"}]
    result = mapped(tables)
    assert outcomes_of(result, 99) == {t: ("skipped:out_of_scope", "no_address_book_row") for t in TARGETS}


def test_a_bad_row_quarantines_its_party_only_and_is_reported():
    tables = combine(party(1, email="a@example.com"), party(2, email="b@example.com"))
    data = frames(**tables)
    data["F0111"].loc[1, "GNNM"] = None  # the client promises "" for blanks: a broken row
    result = map_batch(data, today=TODAY)
    assert result.members["key"].tolist() == ["1"]
    assert outcomes_of(result, 2) == {
        t: ("quarantined:invalid_row", "F0111.GNNM: not_nullable") for t in TARGETS
    }
    failure = result.failures.iloc[0]
    assert (failure["table"], failure["an8"], failure["column"], failure["check"]) == (
        "F0111",
        2,
        "GNNM",
        "not_nullable",
    )


def test_a_row_without_a_valid_an8_is_reported_but_names_no_party():
    tables = party(1)
    tables["F0116"] = [{"AN8": -5, "ADD1": "x"}]
    result = mapped(tables)
    assert result.failures[["table", "an8", "check"]].values.tolist() == [["F0116", -5, "greater_than(0)"]]
    assert result.pulled.tolist() == [1] and result.members["key"].tolist() == ["1"]


def test_a_missing_column_fails_the_batch_loudly():
    data = frames(**party(1))
    data["F0101"] = data["F0101"].drop(columns=["AT1"])
    with pytest.raises(StructureError, match=r"F0101.*AT1"):
        map_batch(data, today=TODAY)


def test_a_wrongly_typed_column_fails_the_batch_loudly():
    data = frames(**party(1))
    data["F0101"]["AN8"] = data["F0101"]["AN8"].astype("float64")
    with pytest.raises(StructureError, match="AN8"):
        map_batch(data, today=TODAY)


def test_a_missing_table_fails_the_batch_loudly():
    data = frames(**party(1))
    del data["F0115"]
    with pytest.raises(StructureError, match="F0115"):
        map_batch(data, today=TODAY)


def test_naive_updated_at_fails_loudly():
    data = frames(**party(1))
    data["F0101"]["updated_at"] = data["F0101"]["updated_at"].dt.tz_localize(None)
    with pytest.raises(StructureError, match="F0101"):
        map_batch(data, today=TODAY)


def test_empty_batch_maps_to_nothing():
    result = mapped({})
    assert (
        result.members.empty and result.customers.empty and result.outcomes.empty and len(result.pulled) == 0
    )


def test_jde_time_zone_is_kept_on_parties():
    data = frames(**party(1))
    for frame in data.values():
        frame["updated_at"] = frame["updated_at"].dt.tz_convert("America/Chicago")
    result = map_batch(data, today=TODAY)
    assert str(result.parties["updated_at"].dt.tz) == "America/Chicago"
    assert result.parties["updated_at"][0] == pd.Timestamp("2026-11-01 09:30", tz="UTC")


def test_no_rename_when_another_an8_still_holds_the_old_email_in_an_old_store(state):
    """Stores written before groups were recorded could hold one member under several AN8s."""
    for an8, digest in ((1, "x"), (2, "y")):
        state.store.query(
            "INSERT INTO synced_state (target, an8, target_key, email, payload_hash, tags, run_id, "
            "synced_at, an8s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [LIST_MEMBER, an8, "h1", "shared@example.com", digest, ["JDE Customer"], "old", NOW, [an8]],
        )
    result = mapped(party(1, email="mine@example.com"), state)
    assert result.members["previous_email"].tolist() == [None]
    assert (1, LIST_MEMBER, "old_email_shared", "shared@example.com") in event_set(result)

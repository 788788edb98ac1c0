"""mapping.md §3 (list member) and §4 (e-commerce customer): exact payloads from JDE rows."""

from __future__ import annotations

import json

import pytest

from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.changes import email_hash, payload_hash
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.payloads import customer_write_fields, member_write_fields
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party

CHICAGO = {
    "ADD1": "1 Main St",
    "ADD2": "Suite 5",
    "ADD3": "Floor 2",
    "ADD4": "Rear",
    "CTY1": "Chicago",
    "ADDS": "IL",
    "ADDZ": "60601",
    "CTR": "US",
}


def full_party(an8: int = 42, **address) -> dict:
    tables = party(an8, alph="Acme Inc", first="Ann", last="Lee", email="Ann@Example.com")
    tables["F0115"] = [{"AN8": an8, "IDLN": 0, "RCK7": 1, "PHTP": "", "AR1": "312", "PH1": "555 0100"}]
    tables["F0116"] = [{"AN8": an8, "EFTB": "2020-01-01", **{**CHICAGO, **address}}]
    return tables


def members(tables, options=None, **kwargs) -> dict[str, dict]:
    result = map_batch(frames(**tables), options or MappingOptions(), today=TODAY, **kwargs)
    return {row["key"]: member_write_fields(row) for row in result.members.to_dict("records")}


def customers(tables, options=None) -> dict[str, dict]:
    result = map_batch(frames(**tables), options or MappingOptions(), today=TODAY)
    return {row["key"]: customer_write_fields(row) for row in result.customers.to_dict("records")}


def events(tables, options=None) -> set[tuple[int, str, str, str]]:
    result = map_batch(frames(**tables), options or MappingOptions(), today=TODAY)
    return set(result.events.itertuples(index=False, name=None))


def test_complete_party_gives_the_exact_member_payload():
    assert members(full_party()) == {
        "42": {
            "key": "42",
            "email_address": "ann@example.com",
            "status_if_new": "subscribed",
            "merge_fields": {
                "FNAME": "Ann",
                "LNAME": "Lee",
                "COMPANY": "Acme Inc",
                "PHONE": "312 555 0100",
                "JDEAN8": "42",
                "ADDRESS": {
                    "addr1": "1 Main St",
                    "addr2": "Suite 5, Floor 2, Rear",
                    "city": "Chicago",
                    "state": "IL",
                    "zip": "60601",
                    "country": "US",
                },
            },
            "tags_active": ("JDE Customer",),
            "tags_inactive": (),
            "previous_email": None,
            "retires": (),
            "retire_tags": (),
            "an8s": (42,),
        }
    }


def test_complete_party_gives_the_exact_customer_payload():
    assert customers(full_party()) == {
        "42": {
            "key": "42",
            "customer_id": email_hash("ann@example.com"),
            "email_address": "ann@example.com",
            "opt_in_status": False,
            "company": "Acme Inc",
            "first_name": "Ann",
            "last_name": "Lee",
            "address": {
                "address1": "1 Main St",
                "address2": "Suite 5, Floor 2, Rear",
                "city": "Chicago",
                "province_code": "IL",
                "postal_code": "60601",
                "country_code": "US",
            },
            "previous_email": None,
            "retires": (),
            "an8s": (42,),
        }
    }


def test_status_if_new_and_opt_in_status_are_configuration_and_status_is_never_sent():
    options = MappingOptions(status_if_new="pending", opt_in_status=True)
    payload = members(full_party(), options)["42"]
    assert payload["status_if_new"] == "pending"
    result = map_batch(frames(**full_party()), options, today=TODAY)
    assert "status" not in result.members.columns and '"status"' not in result.members["merge_fields"].iloc[0]
    assert customers(full_party(), options)["42"]["opt_in_status"] is True


def test_status_if_new_must_be_a_mailchimp_value():
    with pytest.raises(ValueError, match="status_if_new"):
        MappingOptions(status_if_new="unsubscribed")


# ADDRESS all-or-nothing: changed F0116 columns → ADDRESS (None = omitted), address_incomplete detail
ADDRESS_CASES = [
    pytest.param(
        {"ADD2": "", "ADD3": "", "ADD4": ""},
        {"addr1": "1 Main St", "city": "Chicago", "state": "IL", "zip": "60601", "country": "US"},
        None,
        id="no-addr2-left-out",
    ),
    pytest.param(
        {"ADD2": "", "ADD3": "Dock 4", "ADD4": ""},
        {
            "addr1": "1 Main St",
            "addr2": "Dock 4",
            "city": "Chicago",
            "state": "IL",
            "zip": "60601",
            "country": "US",
        },
        None,
        id="ADD3-alone",
    ),
    pytest.param({"ADDZ": ""}, None, "missing: zip", id="no-zip"),
    pytest.param({"ADDS": ""}, None, "missing: state", id="no-state"),
    pytest.param({"CTY1": "", "ADD1": ""}, None, "missing: addr1,city", id="no-addr1-city"),
    pytest.param(
        {"CTR": ""},
        {
            "addr1": "1 Main St",
            "addr2": "Suite 5, Floor 2, Rear",
            "city": "Chicago",
            "state": "IL",
            "zip": "60601",
            "country": "US",
        },
        None,
        id="blank-country-default",
    ),
    pytest.param(
        {"CTR": "CAN", "ADDS": "ON"},
        {
            "addr1": "1 Main St",
            "addr2": "Suite 5, Floor 2, Rear",
            "city": "Chicago",
            "state": "ON",
            "zip": "60601",
            "country": "CA",
        },
        None,
        id="alpha-3-country",
    ),
]


@pytest.mark.parametrize(("change", "expected", "incomplete"), ADDRESS_CASES)
def test_address_merge_field_rule(change, expected, incomplete):
    tables = full_party(**change)
    assert members(tables)["42"]["merge_fields"].get("ADDRESS") == expected
    recorded = {detail for an8, target, event, detail in events(tables) if event == "address_incomplete"}
    assert recorded == ({incomplete} if incomplete else set())


def test_party_without_any_address_omits_address_and_records_it():
    tables = party(42)
    assert "ADDRESS" not in members(tables)["42"]["merge_fields"]
    assert (42, "list_member", "address_incomplete", "missing: addr1,city,state,zip") in events(tables)
    assert customers(tables)["42"]["address"] is None


def test_unknown_country_defaults_on_address_and_is_dropped_from_customer():
    tables = full_party(CTR="ZZ")
    assert members(tables)["42"]["merge_fields"]["ADDRESS"]["country"] == "US"
    assert "country_code" not in customers(tables)["42"]["address"]
    assert {
        (42, "list_member", "country_unknown", "ZZ"),
        (42, "ecommerce_customer", "country_unknown", "ZZ"),
    } <= events(tables)


def test_default_country_is_configuration_and_validated():
    assert (
        members(full_party(CTR=""), MappingOptions(default_country="ca"))["42"]["merge_fields"]["ADDRESS"][
            "country"
        ]
        == "CA"
    )
    with pytest.raises(ValueError, match="default_country"):
        MappingOptions(default_country="XX")


def test_customer_address_keeps_only_non_blank_parts():
    tables = full_party(ADD1="", ADD2="", ADD3="", ADD4="", ADDS="", CTR="")
    assert customers(tables)["42"]["address"] == {
        "city": "Chicago",
        "postal_code": "60601",
        "country_code": "US",
    }


def test_blank_values_are_not_sent_by_default():
    tables = party(42, alph="", first="", last="Lee")
    payload = members(tables)["42"]
    assert payload["merge_fields"] == {"LNAME": "Lee", "JDEAN8": "42"}
    customer = customers(tables)["42"]
    assert (customer["company"], customer["first_name"], customer["last_name"]) == (None, None, "Lee")


def test_blank_clears_sends_blank_values():
    tables = party(42, alph="", first="", last="Lee")
    options = MappingOptions(blank_clears=True)
    assert members(tables, options)["42"]["merge_fields"] == {
        "FNAME": "",
        "LNAME": "Lee",
        "COMPANY": "",
        "PHONE": "",
        "JDEAN8": "42",
        "ADDRESS": "",
    }
    customer = customers(tables, options)["42"]
    assert (customer["company"], customer["first_name"], customer["last_name"]) == ("", "", "Lee")
    assert customer["address"] == {  # a blank address clears every part of the customer's
        "address1": "",
        "address2": "",
        "city": "",
        "province_code": "",
        "postal_code": "",
        "country_code": "",
    }


def test_blank_clears_sends_the_blank_parts_of_a_customer_address():
    options = MappingOptions(blank_clears=True)
    address = customers(full_party(ADD2="", ADD3="", ADD4="", ADDS=""), options)["42"]["address"]
    assert address == {
        "address1": "1 Main St",
        "address2": "",
        "city": "Chicago",
        "province_code": "",
        "postal_code": "60601",
        "country_code": "US",
    }


def test_json_special_characters_survive():
    tables = party(42, alph='The "Best" Co\\Ltd', first="Zoë\tA")
    fields = members(tables)["42"]["merge_fields"]
    assert (fields["COMPANY"], fields["FNAME"]) == ('The "Best" Co\\Ltd', "Zoë\tA")


# several AN8s sharing an e-mail: (AN8, UPMJ, AT1) per party → holder AN8
FOLD_CASES = [
    pytest.param([(1, "2026-01-01", "C"), (2, "2026-02-01", "V")], 2, id="latest-updated-at-wins"),
    pytest.param([(5, "2026-02-01", "C"), (3, "2026-02-01", "V")], 3, id="tie-lowest-AN8"),
    pytest.param(
        [(9, "2026-02-01", "C"), (4, "2026-01-01", "V"), (7, "2026-01-05", "C")], 9, id="three-parties"
    ),
]


@pytest.mark.parametrize(("parties", "holder"), FOLD_CASES)
def test_shared_email_folds_into_one_member_and_one_customer(parties, holder):
    tables = combine(
        *(
            party(an8, upmj=upmj, at1=at1, alph=f"Co {an8}", email="Shared@Example.com")
            for an8, upmj, at1 in parties
        )
    )
    result = map_batch(frames(**tables), today=TODAY)
    member = member_write_fields(result.members.iloc[0].to_dict())
    assert len(result.members) == 1 and member["key"] == str(holder)
    assert member["merge_fields"]["COMPANY"] == f"Co {holder}"
    assert member["tags_active"] == ("JDE Customer", "JDE Vendor")
    all_an8s = ",".join(str(an8) for an8 in sorted(an8 for an8, _, _ in parties))
    assert result.members["an8s"].tolist() == [all_an8s] and result.customers["key"].tolist() == [str(holder)]
    merged = result.outcomes.loc[result.outcomes["outcome"] == "merged"]
    expected = {
        (an8, target)
        for an8, _, _ in parties
        if an8 != holder
        for target in ("list_member", "ecommerce_customer")
    }
    assert set(zip(merged["an8"], merged["target"], strict=True)) == expected
    assert set(merged["reason"]) == {f"holder:{holder}"}
    collisions = result.events.loc[result.events["event"] == "email_collision"]
    assert set(collisions["an8"]) == {an8 for an8, _, _ in parties}
    assert set(collisions["detail"]) == {f"shared by {all_an8s}"}


def test_trail_records_source_and_mapped_values():
    result = map_batch(frames(**full_party(ADDZ="")), today=TODAY)
    trail = result.trail.set_index(["target", "field"])
    assert trail.loc[("list_member", "email_address"), ["source_value", "mapped_value"]].tolist() == [
        "Ann@Example.com",
        "ann@example.com",
    ]
    assert trail.loc[("list_member", "PHONE"), "mapped_value"] == "312 555 0100"
    assert trail.loc[("list_member", "ADDRESS"), "mapped_value"] is None
    address = json.loads(trail.loc[("ecommerce_customer", "address"), "mapped_value"])
    assert address["address1"] == "1 Main St" and "postal_code" not in address
    assert set(result.trail["an8"]) == {42}


def test_payload_hash_is_md5_of_the_canonical_json_of_the_desired_state():
    result = map_batch(frames(**full_party()), today=TODAY)
    member = member_write_fields(result.members.iloc[0].to_dict())
    hashed = {key: member[key] for key in ("email_address", "merge_fields", "status_if_new")}
    expected = payload_hash({**hashed, "tags_active": list(member["tags_active"])})
    assert result.members["payload_hash"][0] == expected
    customer = customer_write_fields(result.customers.iloc[0].to_dict())
    left_out = ("key", "previous_email", "retires", "an8s")
    fields = {k: v for k, v in customer.items() if k not in left_out and v is not None}
    assert result.customers["payload_hash"][0] == payload_hash(fields)


def test_payload_rows_build_the_clients_write_records():
    result = map_batch(frames(**full_party()), today=TODAY)
    member = MemberWrite(**member_write_fields(result.members.iloc[0].to_dict()))
    customer = CustomerWrite(**customer_write_fields(result.customers.iloc[0].to_dict()))
    assert (member.key, member.merge_fields["JDEAN8"], customer.key) == ("42", "42", "42")
    assert customer.customer_id == email_hash("ann@example.com") and customer.an8s == member.an8s == (42,)

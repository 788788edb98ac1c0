"""mapping.md §1 (scope, roles, routing) and §2 (assembling a party), one case per rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, MappingOptions
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party


def run(tables, options=None, **kwargs):
    return map_batch(frames(**tables), options or MappingOptions(), today=TODAY, **kwargs)


def outcome(result, an8: int, target: str) -> tuple[str, str] | None:
    rows = result.outcomes.loc[(result.outcomes["an8"] == an8) & (result.outcomes["target"] == target)]
    return None if rows.empty else (rows["outcome"].iloc[0], rows["reason"].iloc[0])


def member(result, an8: int) -> dict:
    rows = result.members.loc[result.members["key"] == str(an8)]
    assert len(rows) == 1, f"no member payload for {an8}"
    return rows.iloc[0].to_dict()


def party_row(result, an8: int) -> dict:
    return result.parties.loc[result.parties["an8"] == an8].iloc[0].to_dict()


# §1: who is in scope. (AT1, has F03012 row, options) → (tags on the member, or the skip outcome)
SCOPE_CASES = [
    pytest.param("C", False, {}, ("JDE Customer",), id="customer-by-AT1-C"),
    pytest.param("E", True, {}, ("JDE Customer",), id="customer-by-F03012-row-any-CO"),
    pytest.param("V", False, {}, ("JDE Vendor",), id="vendor-by-AT1-V"),
    pytest.param("V", True, {}, ("JDE Customer", "JDE Vendor"), id="both-roles"),
    pytest.param("E", False, {}, ("skipped:out_of_scope", "no_role"), id="employee-out-of-scope"),
    pytest.param("O", False, {}, ("skipped:out_of_scope", "no_role"), id="company-out-of-scope"),
    pytest.param(
        "CX", False, {"customer_search_types": ("C", "CX")}, ("JDE Customer",), id="customer-types-config"
    ),
    pytest.param("VX", False, {"vendor_search_types": ("VX",)}, ("JDE Vendor",), id="vendor-types-config"),
    pytest.param(
        "V", False, {"vendor_search_types": ()}, ("skipped:out_of_scope", "no_role"), id="no-vendor-types"
    ),
    pytest.param("V", False, {"vendor_tag": "Supplier"}, ("Supplier",), id="tag-name-config"),
]


@pytest.mark.parametrize(("at1", "in_f03012", "config", "expected"), SCOPE_CASES)
def test_scope_and_roles(at1, in_f03012, config, expected):
    tables = party(10, at1=at1)
    tables["F03012"] = [{"AN8": 10, "CO": "00200"}] if in_f03012 else []
    result = run(tables, MappingOptions(**config))
    if expected[0].startswith("skipped"):
        assert outcome(result, 10, LIST_MEMBER) == expected
        assert outcome(result, 10, ECOMMERCE_CUSTOMER) == expected
        assert result.members.empty and result.customers.empty
    else:
        assert member(result, 10)["tags_active"] == expected
        assert list(result.customers["key"]) == ["10"]


def test_role_routing_sends_a_role_only_to_its_targets():
    options = MappingOptions(
        role_targets=(("customer", ("list_member", "ecommerce_customer")), ("vendor", ("list_member",)))
    )
    tables = combine(party(1, at1="V", email="v@example.com"), party(2, at1="C", email="c@example.com"))
    result = run(tables, options)
    assert sorted(result.members["key"]) == ["1", "2"]
    assert list(result.customers["key"]) == ["2"]
    assert outcome(result, 1, ECOMMERCE_CUSTOMER) == ("skipped:out_of_scope", "role_not_routed")


def test_party_values_come_from_idln_0_rows_only():
    tables = party(7, first="Ann", last="Lee", email="ann@example.com")
    tables["F0111"].append({"AN8": 7, "IDLN": 1, "GNNM": "Contact", "SRNM": "Person"})
    tables["F01151"] = [
        {"AN8": 7, "IDLN": 1, "RCK7": 1, "ETP": "E", "EMAL": "contact@example.com"},
        {"AN8": 7, "IDLN": 0, "RCK7": 5, "ETP": "E", "EMAL": "ann@example.com"},
    ]
    tables["F0115"] = [
        {"AN8": 7, "IDLN": 1, "RCK7": 1, "PHTP": "", "AR1": "111", "PH1": "111 1111"},
        {"AN8": 7, "IDLN": 0, "RCK7": 3, "PHTP": "", "AR1": "312", "PH1": "555 0100"},
    ]
    row = party_row(run(tables), 7)
    assert (row["first_name"], row["last_name"], row["email"], row["phone"]) == (
        "Ann",
        "Lee",
        "ann@example.com",
        "312 555 0100",
    )


# §2 e-mail: F01151 rows (ETP, RCK7, EMAL) → chosen e-mail, or the quarantine outcome
EMAIL_CASES = [
    pytest.param([("E", 1, "  Ann.Lee@Example.COM ")], "ann.lee@example.com", id="trimmed-and-lower-cased"),
    pytest.param(
        [("E", 2, "second@example.com"), ("E", 1, "first@example.com")], "first@example.com", id="lowest-RCK7"
    ),
    pytest.param(
        [("E", 1, "not an e-mail"), ("E", 2, "valid@example.com")],
        "valid@example.com",
        id="lowest-valid-RCK7",
    ),
    pytest.param(
        [("I", 1, "www.example.com"), ("E", 2, "ann@example.com")], "ann@example.com", id="only-ETP-E"
    ),
    pytest.param([("E", 1, "josé@exämple.com")], "josé@exämple.com", id="non-ascii-kept"),
    pytest.param([], ("quarantined:no_email", ""), id="no-row"),
    pytest.param([("E", 1, "")], ("quarantined:no_email", ""), id="blank-EMAL-is-no-email"),
    pytest.param([("I", 1, "ann@example.com")], ("quarantined:no_email", ""), id="no-ETP-E-row"),
    pytest.param([("E", 1, "ann@")], ("quarantined:invalid_email", "ann@"), id="invalid"),
    pytest.param(
        [("E", 1, "a@b"), ("E", 2, "x@localhost")], ("quarantined:invalid_email", "a@b"), id="none-valid"
    ),
]


@pytest.mark.parametrize(("rows", "expected"), EMAIL_CASES)
def test_email_rule(rows, expected):
    tables = party(3, email=None)
    tables["F01151"] = [
        {"AN8": 3, "IDLN": 0, "ETP": etp, "RCK7": rck7, "EMAL": emal} for etp, rck7, emal in rows
    ]
    result = run(tables)
    if isinstance(expected, str):
        assert member(result, 3)["email_address"] == expected
        assert result.customers["email_address"].tolist() == [expected]
    else:
        assert outcome(result, 3, LIST_MEMBER) == expected
        assert outcome(result, 3, ECOMMERCE_CUSTOMER) == expected


# §2 phone: F0115 rows (PHTP, RCK7, AR1, PH1) and options → PHONE merge field (None = not sent)
PHONE_CASES = [
    pytest.param([("", 1, "312", "555  0100")], {}, "312 555 0100", id="white-space-collapsed"),
    pytest.param(
        [("HOM", 1, "1", "1"), ("", 2, "312", "555 0100")], {}, "312 555 0100", id="blank-type-first"
    ),
    pytest.param(
        [("FAX", 1, "1", "1"), ("HOM", 3, "2", "2"), ("CEL", 2, "3", "3")],
        {},
        "3 3",
        id="then-any-type-lowest-RCK7",
    ),
    pytest.param([("FAX", 1, "312", "555 0199")], {}, None, id="fax-never"),
    pytest.param([("", 4, "4", "4"), ("", 2, "2", "2")], {}, "2 2", id="lowest-RCK7-within-type"),
    pytest.param([("", 1, "", "555 0100")], {}, "555 0100", id="no-area-code"),
    pytest.param([("", 1, "312", "")], {}, None, id="blank-number-is-no-phone"),
    pytest.param(
        [("", 1, "1", "1"), ("CEL", 2, "2", "2")],
        {"phone_type_preference": ("CEL", "")},
        "2 2",
        id="preference-config",
    ),
    pytest.param([("FAX", 1, "1", "1")], {"excluded_phone_types": ()}, "1 1", id="exclusion-config"),
]


@pytest.mark.parametrize(("rows", "config", "expected"), PHONE_CASES)
def test_phone_rule(rows, config, expected):
    tables = party(4)
    tables["F0115"] = [{"AN8": 4, "IDLN": 0, "PHTP": t, "RCK7": r, "AR1": a, "PH1": p} for t, r, a, p in rows]
    merge_fields = json.loads(member(run(tables, MappingOptions(**config)), 4)["merge_fields"])
    assert merge_fields.get("PHONE") == expected


# §2 address: F0116 rows (EFTB, ADD1) → the chosen ADD1 ("" = none current); TODAY is 2026-11-27
ADDRESS_CASES = [
    pytest.param([("2020-01-01", "old"), ("2025-06-01", "new")], "new", id="greatest-EFTB"),
    pytest.param([("2025-06-01", "now"), ("2027-01-01", "future")], "now", id="future-ignored"),
    pytest.param([("2026-11-27", "today"), (None, "blank")], "today", id="EFTB-today-counts"),
    pytest.param([(None, "blank"), ("2026-12-01", "future")], "blank", id="blank-EFTB-is-oldest-but-current"),
    pytest.param([("2027-01-01", "future")], "", id="only-future"),
]


@pytest.mark.parametrize(("rows", "expected"), ADDRESS_CASES)
def test_current_address_rule(rows, expected):
    tables = party(5)
    tables["F0116"] = [{"AN8": 5, "EFTB": eftb, "ADD1": add1} for eftb, add1 in rows]
    assert party_row(run(tables), 5)["addr1"] == expected


def test_updated_at_is_the_latest_stamp_over_all_six_tables():
    tables = party(6, upmj="2026-01-01")
    tables["F0116"] = [{"AN8": 6, "ADD1": "x", "UPMJ": "2026-03-04", "UPMT": 101500}]
    tables["F0115"] = [{"AN8": 6, "IDLN": 4, "RCK7": 1, "PH1": "1", "UPMJ": "2026-02-01"}]
    tables["F03012"] = [{"AN8": 6, "CO": "1", "UPMJ": None, "UPMT": 0}]
    assert party_row(run(tables), 6)["updated_at"] == pd.Timestamp("2026-03-04 10:15:00", tz="UTC")


def test_text_is_cut_to_255_bytes_without_splitting_a_character():
    long_name = "é" * 200  # 400 bytes of UTF-8
    tables = party(8, alph=long_name, first="Zoë")
    result = run(tables)
    fields = json.loads(member(result, 8)["merge_fields"])
    assert fields["COMPANY"] == "é" * 127 and len(fields["COMPANY"].encode()) == 254
    assert fields["FNAME"] == "Zoë"
    assert result.customers["company"].tolist() == ["é" * 127]

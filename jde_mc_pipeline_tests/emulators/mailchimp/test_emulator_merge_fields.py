"""Merge fields in the emulator: definitions, paging and the value rules on members."""

from __future__ import annotations

import pytest

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import put

COMPLETE = {"addr1": "1 Main St", "city": "Denver", "state": "CO", "zip": "80202"}


def merge_path(api, suffix=""):
    return f"/lists/{api.list_id}/merge-fields{suffix}"


def add_field(api, **body):
    return api.request("POST", merge_path(api), json=body)


def test_default_merge_fields(mailchimp_api):
    document = mailchimp_api.request("GET", merge_path(mailchimp_api)).json()
    assert [(f["tag"], f["type"], f["merge_id"]) for f in document["merge_fields"]] == [
        ("FNAME", "text", 1),
        ("LNAME", "text", 2),
        ("ADDRESS", "address", 3),
        ("PHONE", "phone", 4),
        ("BIRTHDAY", "birthday", 5),
    ]
    assert document["total_items"] == 5 and document["list_id"] == mailchimp_api.list_id
    address = document["merge_fields"][2]
    assert address["required"] is False and address["options"] == {"default_country": 164}


def test_merge_fields_page_by_ten_by_default(mailchimp_api):
    for index in range(8):
        assert (
            add_field(mailchimp_api, name=f"Extra {index}", type="text", tag=f"EXTRA{index}").status_code
            == 200
        )
    first = mailchimp_api.request("GET", merge_path(mailchimp_api)).json()
    assert len(first["merge_fields"]) == 10 and first["total_items"] == 13
    rest = mailchimp_api.request("GET", merge_path(mailchimp_api), params={"offset": 10}).json()
    assert [f["tag"] for f in rest["merge_fields"]] == ["EXTRA5", "EXTRA6", "EXTRA7"]
    numbers = mailchimp_api.request("GET", merge_path(mailchimp_api), params={"type": "address"}).json()
    assert [f["tag"] for f in numbers["merge_fields"]] == ["ADDRESS"]


def test_post_merge_field(mailchimp_api):
    created = add_field(mailchimp_api, name="Company", type="text", tag="company", required=False)
    assert created.status_code == 200
    field = created.json()
    assert field["tag"] == "COMPANY" and field["merge_id"] == 6 and field["list_id"] == mailchimp_api.list_id
    fetched = mailchimp_api.request("GET", merge_path(mailchimp_api, "/6")).json()
    assert fetched["name"] == "Company"
    duplicate = add_field(mailchimp_api, name="Company again", type="text", tag="COMPANY")
    assert "already exists" in assert_problem(duplicate, 400, "Invalid Resource")["detail"]
    generated = add_field(mailchimp_api, name="JDE address number", type="number").json()
    assert generated["tag"] == "JDEADDRESS"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Too long", "type": "text", "tag": "ABCDEFGHIJK"}, "tag"),
        ({"name": "Odd", "type": "colour"}, "type"),
        ({"type": "text"}, ""),
        ({"name": "No type"}, ""),
    ],
)
def test_post_merge_field_validation(mailchimp_api, body, field):
    document = assert_problem(add_field(mailchimp_api, **body), 400, "Invalid Resource")
    assert document["errors"][0]["field"] == field


def test_unknown_merge_tags_are_ignored_and_text_is_cut_to_255_bytes(mailchimp_api):
    long_name = "é" * 200  # 400 bytes of UTF-8
    member = put(
        mailchimp_api,
        "m@gmail.com",
        status_if_new="subscribed",
        merge_fields={"FNAME": long_name, "NOPE": "x"},
    ).json()
    assert "NOPE" not in member["merge_fields"]
    assert member["merge_fields"]["FNAME"] == "é" * 127
    assert len(member["merge_fields"]["FNAME"].encode()) == 254


def test_number_fields_and_clearing(mailchimp_api):
    add_field(mailchimp_api, name="JDE AN8", type="number", tag="JDEAN8")
    member = put(
        mailchimp_api, "n@gmail.com", status_if_new="subscribed", merge_fields={"JDEAN8": "4242"}
    ).json()
    assert member["merge_fields"]["JDEAN8"] == 4242
    bad = put(mailchimp_api, "n@gmail.com", merge_fields={"JDEAN8": "forty"})
    document = assert_problem(bad, 400, "Invalid Resource")
    assert document["detail"] == "Your merge fields were invalid."
    assert document["errors"] == [{"field": "JDEAN8", "message": "Please enter a number"}]
    cleared = put(mailchimp_api, "n@gmail.com", merge_fields={"JDEAN8": ""}).json()
    assert cleared["merge_fields"]["JDEAN8"] == ""


def test_complete_address_is_stored(mailchimp_api):
    member = put(
        mailchimp_api, "addr@gmail.com", status_if_new="subscribed", merge_fields={"ADDRESS": COMPLETE}
    ).json()
    assert member["merge_fields"]["ADDRESS"] == {**COMPLETE, "addr2": "", "country": "US"}


@pytest.mark.parametrize(
    "address",
    [
        {"addr1": "1 Main St", "city": "Denver", "state": "CO"},
        {"address1": "1 Main St", "city": "Denver", "state": "CO", "postal_code": "80202"},
        {"addr1": "1 Main St", "city": "Denver", "state": "", "zip": "80202"},
        "1 Main St  Denver  CO  80202",
    ],
)
def test_incomplete_address_is_dropped_when_optional(mailchimp_api, address):
    put(mailchimp_api, "keep@gmail.com", status_if_new="subscribed", merge_fields={"ADDRESS": COMPLETE})
    response = put(mailchimp_api, "keep@gmail.com", merge_fields={"ADDRESS": address, "FNAME": "Kept"})
    assert response.status_code == 200
    assert response.json()["merge_fields"]["ADDRESS"]["zip"] == "80202"
    assert response.json()["merge_fields"]["FNAME"] == "Kept"
    fresh = put(
        mailchimp_api, "fresh@gmail.com", status_if_new="subscribed", merge_fields={"ADDRESS": address}
    )
    assert fresh.status_code == 200 and fresh.json()["merge_fields"]["ADDRESS"] == ""


def test_incomplete_address_is_refused_when_required(mailchimp_api):
    patched = mailchimp_api.request("PATCH", merge_path(mailchimp_api, "/3"), json={"required": True})
    assert patched.json()["required"] is True
    response = put(
        mailchimp_api, "req@gmail.com", status_if_new="subscribed", merge_fields={"ADDRESS": {"addr1": "x"}}
    )
    document = assert_problem(response, 400, "Invalid Resource")
    assert document["errors"] == [{"field": "ADDRESS", "message": "Please enter a complete address"}]
    missing = put(mailchimp_api, "req@gmail.com", status_if_new="subscribed")
    assert (
        assert_problem(missing, 400, "Invalid Resource")["errors"][0]["message"]
        == "Please enter a complete address"
    )
    skipped = mailchimp_api.request(
        "PUT",
        mailchimp_api.members_path("0" * 32),
        params={"skip_merge_validation": "true"},
        json={"email_address": "req@gmail.com", "status_if_new": "subscribed"},
    )
    assert skipped.status_code == 200


def test_required_text_field_needs_a_value(mailchimp_api):
    add_field(mailchimp_api, name="Company", type="text", tag="COMPANY", required=True)
    response = put(mailchimp_api, "co@gmail.com", status_if_new="subscribed", merge_fields={"FNAME": "A"})
    assert assert_problem(response, 400, "Invalid Resource")["errors"] == [
        {"field": "COMPANY", "message": "Please enter a value"}
    ]
    assert (
        put(
            mailchimp_api, "co@gmail.com", status_if_new="subscribed", merge_fields={"COMPANY": "ACME"}
        ).status_code
        == 200
    )


def test_birthday_and_wrong_value_types(mailchimp_api):
    ok = put(mailchimp_api, "bd@gmail.com", status_if_new="subscribed", merge_fields={"BIRTHDAY": "12/10"})
    assert ok.json()["merge_fields"]["BIRTHDAY"] == "12/10"
    bad = put(mailchimp_api, "bd@gmail.com", merge_fields={"BIRTHDAY": "1815-12-10", "FNAME": {"a": 1}})
    fields = {e["field"] for e in assert_problem(bad, 400, "Invalid Resource")["errors"]}
    assert fields == {"BIRTHDAY", "FNAME"}
    assert (
        mailchimp_api.request("GET", mailchimp_api.members_path(ok.json()["id"])).json()["merge_fields"][
            "FNAME"
        ]
        == ""
    )

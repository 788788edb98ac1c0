"""`GET /lists/{id}/members?since_last_changed=&before_last_changed=`: what a daily drift read relies on."""

from __future__ import annotations

import pytest

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_marketer import member_control
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi

START = 1_800_000_000.0  # 2027-01-15T08:00:00+00:00
T = "2027-01-15T09:00:00+00:00"


@pytest.fixture
def clock() -> list[float]:
    return [START]


@pytest.fixture
def api(mailchimp_emulator_factory, clock):
    server = mailchimp_emulator_factory(seed=5, batch_step_seconds=0, clock=lambda: clock[0])
    api = MailchimpApi(server)
    yield api
    api.close()


def emails(document):
    return [m["email_address"] for m in document["members"]]


def read(api, **params):
    response = api.request("GET", api.members_path(), params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def audience(api, clock):
    """20 members written at 08:00, then at 09:00 exactly `on-t`, then five changed at 10:00 by the marketer
    (an edit, a tag, an unsubscribe, an archive) or by the API."""
    for n in range(20):
        assert put(api, f"m{n:02}@gmail.com", status_if_new="subscribed").status_code == 200
    clock[0] = START + 3600
    put(api, "on-t@gmail.com", status_if_new="subscribed")
    clock[0] = START + 7200
    member_control(api, "m03@gmail.com", method="PATCH", json={"merge_fields": {"FNAME": "Edited"}})
    member_control(api, "m07@gmail.com", "tags", json={"tags": [{"name": "VIP", "status": "active"}]})
    member_control(api, "m11@gmail.com", "unsubscribe")
    member_control(api, "m15@gmail.com", "archive")
    put(api, "m19@gmail.com", merge_fields={"LNAME": "Synced"})
    return api


def test_only_members_changed_strictly_after_the_instant_are_listed(audience):
    changed = read(audience, since_last_changed=T)
    assert emails(changed) == ["m03@gmail.com", "m07@gmail.com", "m11@gmail.com", "m19@gmail.com"]
    assert changed["total_items"] == 4
    archived = read(audience, since_last_changed=T, status="archived")
    assert emails(archived) == ["m15@gmail.com"] and archived["total_items"] == 1
    a_second_earlier = read(audience, since_last_changed="2027-01-15T08:59:59+00:00")
    assert emails(a_second_earlier) == [*emails(changed), "on-t@gmail.com"]  # the audience's order
    assert a_second_earlier["total_items"] == 5
    assert read(audience, since_last_changed="2027-01-15T10:00:00+00:00")["total_items"] == 0


def test_before_last_changed_and_both_bounds(audience):
    before = read(audience, before_last_changed=T, count=1000)
    assert before["total_items"] == 15  # the 20 written at 08:00, less the five changed at 10:00
    assert "on-t@gmail.com" not in emails(before) and "m03@gmail.com" not in emails(before)
    window = read(
        audience, since_last_changed="2027-01-15T08:30:00+00:00", before_last_changed="2027-01-15T09:30:00Z"
    )
    assert emails(window) == ["on-t@gmail.com"] and window["total_items"] == 1


@pytest.mark.parametrize(
    "instant",
    [
        "2027-01-15T09:00:00Z",
        "2027-01-15T10:00:00+01:00",
        "2027-01-15T09:00:00",
        "2027-01-15T09:00:00.000+00:00",
    ],
)
def test_other_iso_8601_spellings_of_the_same_instant(audience, instant):
    assert read(audience, since_last_changed=instant)["total_items"] == 4


def test_fractions_round_the_right_way(audience):
    assert read(audience, since_last_changed="2027-01-15T08:59:59.5+00:00")["total_items"] == 5
    assert "on-t@gmail.com" in emails(
        read(audience, before_last_changed="2027-01-15T09:00:00.5+00:00", count=50)
    )


def test_paging_walks_the_filtered_members_and_total_items_counts_them(audience):
    pages = [read(audience, since_last_changed=T, count=3, offset=offset) for offset in (0, 3, 6)]
    assert [emails(p) for p in pages] == [
        ["m03@gmail.com", "m07@gmail.com", "m11@gmail.com"],
        ["m19@gmail.com"],
        [],
    ]
    assert {p["total_items"] for p in pages} == {4}
    subscribed = read(audience, since_last_changed=T, status="subscribed", count=1, offset=1)
    assert emails(subscribed) == ["m07@gmail.com"] and subscribed["total_items"] == 3
    cut = read(audience, since_last_changed=T, fields="members.email_address,total_items")
    assert cut == {"members": [{"email_address": e} for e in emails(read(audience, since_last_changed=T))],
                   "total_items": 4}  # fmt: skip


def test_a_big_read_is_capped_at_1000(api, clock):
    for batch in range(3):
        members = [{"email_address": f"b{batch}-{n}@gmail.com", "status": "subscribed"} for n in range(500)]
        assert api.request("POST", f"/lists/{api.list_id}", json={"members": members}).status_code == 200
    document = read(api, since_last_changed="2027-01-01T00:00:00Z", count=5000)
    assert len(document["members"]) == 1000 and document["total_items"] == 1500


def test_permanently_deleted_members_are_in_no_read(audience):
    member_control(audience, "m03@gmail.com", "delete-permanent")
    assert "m03@gmail.com" not in emails(read(audience, since_last_changed=T))
    for status in ("subscribed", "archived", "unsubscribed"):
        assert "m03@gmail.com" not in emails(read(audience, status=status, count=1000))
    assert audience.request("GET", audience.members_path(md5("m03@gmail.com"))).status_code == 404


@pytest.mark.parametrize("text", ["yesterday", "2027-01-15T09:00:00 00:00", "2027-13-01"])
def test_a_value_that_is_no_date_is_refused(api, text):
    document = assert_problem(
        api.request("GET", api.members_path(), params={"since_last_changed": text}), 400, "Invalid Resource"
    )
    assert document["errors"][0]["field"] == "since_last_changed"

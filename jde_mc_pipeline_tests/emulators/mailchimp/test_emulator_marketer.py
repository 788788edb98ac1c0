"""The marketer's control endpoints (`/_emulator/...`): what each changes, `last_changed`, refusals."""

from __future__ import annotations

import pytest

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi

START = 1_800_000_000.0  # 2027-01-15T08:00:00+00:00
STORE = "jde-e1"


@pytest.fixture
def clock() -> list[float]:
    return [START]


@pytest.fixture
def api(mailchimp_emulator_factory, clock):
    server = mailchimp_emulator_factory(seed=3, batch_step_seconds=0, clock=lambda: clock[0])
    api = MailchimpApi(server)
    yield api
    api.close()


def member_control(api, email, action="", method="POST", **kwargs):
    path = f"lists/{api.list_id}/members/{md5(email)}" + (f"/{action}" if action else "")
    return api.control(method, path, **kwargs)


def subscribed(api, email, clock, **body):
    created = put(api, email, status_if_new="subscribed", **body)
    assert created.status_code == 200
    clock[0] += 60
    return created.json()


def test_merge_field_edit_changes_the_member_and_last_changed(api, clock):
    api.request(
        "POST", f"/lists/{api.list_id}/merge-fields", json={"tag": "COMPANY", "name": "Co", "type": "text"}
    )
    before = subscribed(api, "ada@gmail.com", clock, merge_fields={"COMPANY": "Acme", "FNAME": "Ada"})
    edited = member_control(
        api, "ada@gmail.com", method="PATCH", json={"merge_fields": {"COMPANY": "Edited"}}
    )
    assert edited.status_code == 200
    member = edited.json()
    assert member["merge_fields"]["COMPANY"] == "Edited" and member["merge_fields"]["FNAME"] == "Ada"
    assert member["last_changed"] == "2027-01-15T08:01:00+00:00" != before["last_changed"]
    stored = api.request("GET", api.members_path(md5("ada@gmail.com"))).json()
    assert stored["merge_fields"]["COMPANY"] == "Edited" and stored["last_changed"] == member["last_changed"]
    cleared = member_control(api, "ada@gmail.com", method="PATCH", json={"merge_fields": {"COMPANY": ""}})
    assert cleared.json()["merge_fields"]["COMPANY"] == ""


@pytest.mark.parametrize(
    "body",
    [
        {"merge_fields": {"NOSUCH": "x"}},
        {"merge_fields": {"FNAME": "x"}, "status": "subscribed"},
        {"merge_fields": "x"},
        [],
        {"merge_fields": {"BIRTHDAY": "31/02"}},
    ],
)
def test_merge_field_edit_refuses_a_bad_body_and_changes_nothing(api, clock, body):
    before = subscribed(api, "bad@gmail.com", clock, merge_fields={"FNAME": "Bea"})
    response = member_control(api, "bad@gmail.com", method="PATCH", json=body)
    assert_problem(response, 400, "Invalid Resource")
    after = api.request("GET", api.members_path(md5("bad@gmail.com"))).json()
    assert after["merge_fields"] == before["merge_fields"] and after["last_changed"] == before["last_changed"]


def test_tags_are_added_and_removed_and_move_last_changed_only_when_they_change(api, clock):
    body = {"email_address": "tags@gmail.com", "status": "subscribed", "tags": ["JDE Customer"]}
    created = api.request("POST", api.members_path(), json=body).json()
    clock[0] += 60
    response = member_control(
        api,
        "tags@gmail.com",
        "tags",
        json={"tags": [{"name": "JDE Customer", "status": "inactive"}, {"name": "VIP", "status": "active"}]},
    )
    assert response.status_code == 200
    member = response.json()
    assert [t["name"] for t in member["tags"]] == ["VIP"]
    assert member["last_changed"] == "2027-01-15T08:01:00+00:00" != created["last_changed"]
    clock[0] += 60
    same = member_control(api, "tags@gmail.com", "tags", json={"tags": [{"name": "VIP", "status": "active"}]})
    assert same.json()["last_changed"] == member["last_changed"]
    listed = api.request("GET", api.members_path(md5("tags@gmail.com")) + "/tags").json()
    assert [t["name"] for t in listed["tags"]] == ["VIP"]
    refused = member_control(api, "tags@gmail.com", "tags", json={"tags": [{"name": "X", "status": "on"}]})
    assert_problem(refused, 400, "Invalid Resource")


def test_api_tag_changes_move_last_changed_too(api, clock):
    created = subscribed(api, "api-tags@gmail.com", clock)
    path = api.members_path(md5("api-tags@gmail.com")) + "/tags"
    assert api.request("POST", path, json={"tags": [{"name": "A", "status": "active"}]}).status_code == 204
    after = api.request("GET", api.members_path(md5("api-tags@gmail.com"))).json()
    assert after["last_changed"] == "2027-01-15T08:01:00+00:00" != created["last_changed"]


def test_archive_works_on_any_status_and_hides_the_member_from_the_default_read(api, clock):
    subscribed(api, "arch@gmail.com", clock)
    member_control(api, "arch@gmail.com", "clean")
    clock[0] += 60
    response = member_control(api, "arch@gmail.com", "archive")
    assert response.status_code == 200
    assert response.json()["status"] == "archived"
    assert response.json()["last_changed"] == "2027-01-15T08:02:00+00:00"
    clock[0] += 60
    again = member_control(api, "arch@gmail.com", "archive")
    assert (
        again.json()["status"] == "archived" and again.json()["last_changed"] == "2027-01-15T08:02:00+00:00"
    )
    default = api.request("GET", api.members_path()).json()
    assert default["members"] == [] and default["total_items"] == 0
    archived = api.request("GET", api.members_path(), params={"status": "archived"}).json()
    assert [m["email_address"] for m in archived["members"]] == ["arch@gmail.com"]
    assert archived["total_items"] == 1


def test_unsubscribe_and_clean_move_last_changed(api, clock):
    subscribed(api, "u@gmail.com", clock)
    response = member_control(api, "u@gmail.com", "unsubscribe")
    assert response.json()["status"] == "unsubscribed"
    assert response.json()["unsubscribe_reason"] == "N/A (Unsubscribed by user)"
    assert response.json()["last_changed"] == "2027-01-15T08:01:00+00:00"


def test_delete_permanent_forgets_the_member_and_refuses_it_back(api, clock):
    subscribed(api, "gone@gmail.com", clock)
    response = member_control(api, "gone@gmail.com", "delete-permanent")
    assert response.status_code == 204 and response.content == b""
    assert_problem(api.request("GET", api.members_path(md5("gone@gmail.com"))), 404, "Resource Not Found")
    assert api.request("GET", api.members_path()).json()["total_items"] == 0
    refused = put(api, "gone@gmail.com", status_if_new="subscribed")
    assert_problem(refused, 400, "Forgotten Email Not Subscribed")
    posted = api.request(
        "POST", api.members_path(), json={"email_address": "gone@gmail.com", "status": "subscribed"}
    )
    assert_problem(posted, 400, "Forgotten Email Not Subscribed")
    assert_problem(member_control(api, "gone@gmail.com", "delete-permanent"), 404, "Resource Not Found")


def test_customer_delete_leaves_the_contact(api, clock):
    store = {"id": STORE, "list_id": api.list_id, "name": "JDE", "currency_code": "USD"}
    assert api.request("POST", "/ecommerce/stores", json=store).status_code == 200
    body = {"id": "4242", "email_address": "buyer@gmail.com", "opt_in_status": True}
    assert api.request("PUT", f"/ecommerce/stores/{STORE}/customers/4242", json=body).status_code == 200
    deleted = api.control("DELETE", f"ecommerce/stores/{STORE}/customers/4242")
    assert deleted.status_code == 204
    assert_problem(api.request("GET", f"/ecommerce/stores/{STORE}/customers/4242"), 404, "Resource Not Found")
    assert api.request("GET", api.members_path(md5("buyer@gmail.com"))).json()["status"] == "subscribed"
    again = api.control("DELETE", f"ecommerce/stores/{STORE}/customers/4242")
    assert_problem(again, 404, "Resource Not Found")
    assert_problem(
        api.control("DELETE", "ecommerce/stores/nostore/customers/4242"), 404, "Resource Not Found"
    )


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("PATCH", "", {"merge_fields": {"FNAME": "x"}}),
        ("POST", "tags", {"tags": [{"name": "T", "status": "active"}]}),
        ("POST", "archive", None),
        ("POST", "delete-permanent", None),
        ("POST", "unsubscribe", None),
        ("POST", "clean", None),
    ],
)
def test_unknown_member_or_list_is_a_404_problem(api, method, action, body):
    response = member_control(api, "nobody@gmail.com", action, method=method, json=body)
    document = assert_problem(response, 404, "Resource Not Found")
    assert md5("nobody@gmail.com") in document["detail"]
    suffix = f"/{action}" if action else ""
    other_list = api.control(method, f"lists/nolist/members/{md5('nobody@gmail.com')}{suffix}", json=body)
    assert_problem(other_list, 404, "Resource Not Found")

"""Addressing, authentication and error documents of the Mailchimp emulator, over real HTTP."""

from __future__ import annotations

import requests

PROBLEM = "application/problem+json; charset=utf-8"


def assert_problem(response: requests.Response, status: int, title: str) -> dict:
    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM
    document = response.json()
    assert document["title"] == title
    assert document["status"] == status
    assert document["detail"]
    assert document["instance"] == response.headers["X-Request-Id"]
    return document


def test_ping_with_basic_auth_any_user(mailchimp_api):
    response = mailchimp_api.request("GET", "/ping")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {"health_status": "Everything's Chimpy!"}
    other_user = requests.get(
        f"{mailchimp_api.base}/ping", auth=("someone-else", mailchimp_api.api_key), timeout=10
    )
    assert other_user.status_code == 200


def test_bearer_auth(mailchimp_api):
    headers = {"Authorization": f"Bearer {mailchimp_api.api_key}"}
    assert requests.get(f"{mailchimp_api.base}/ping", headers=headers, timeout=10).status_code == 200


def test_wrong_key_is_api_key_invalid(mailchimp_api):
    response = requests.get(
        f"{mailchimp_api.base}/ping", auth=("u", "ffffffffffffffffffffffffffffffff-us21"), timeout=10
    )
    document = assert_problem(response, 401, "API Key Invalid")
    assert document["type"] == "https://mailchimp.com/developer/marketing/docs/errors/"
    assert (
        document["detail"]
        == "Your API key may be invalid, or you've attempted to access the wrong datacenter."
    )


def test_key_sent_to_another_data_center_is_invalid(mailchimp_api):
    response = requests.get(
        f"{mailchimp_api.url}/us6/3.0/ping", auth=("u", mailchimp_api.api_key), timeout=10
    )
    assert_problem(response, 401, "API Key Invalid")


def test_key_of_another_data_center_is_invalid(mailchimp_emulator_factory):
    server = mailchimp_emulator_factory(api_key="0123456789abcdef0123456789abcdef-us6")
    same_hex_other_dc = "0123456789abcdef0123456789abcdef-us21"
    response = requests.get(f"{server.url}/us21/3.0/ping", auth=("u", same_hex_other_dc), timeout=10)
    assert_problem(response, 401, "API Key Invalid")
    assert (
        requests.get(f"{server.url}/us6/3.0/ping", auth=("u", server.api_key), timeout=10).status_code == 200
    )


def test_missing_key(mailchimp_api):
    response = requests.get(f"{mailchimp_api.base}/ping", timeout=10)
    assert_problem(response, 401, "API Key Missing")


def test_legacy_query_key_and_conflict(mailchimp_api):
    ok = requests.get(f"{mailchimp_api.base}/ping", params={"apikey": mailchimp_api.api_key}, timeout=10)
    assert ok.status_code == 200
    conflict = requests.get(
        f"{mailchimp_api.base}/ping",
        params={"apikey": "0000-us21"},
        auth=("u", mailchimp_api.api_key),
        timeout=10,
    )
    document = assert_problem(conflict, 401, "API Key Invalid")
    assert "not consistent with the Authorization header" in document["detail"]


def test_unknown_resource_is_404_problem(mailchimp_api):
    assert_problem(mailchimp_api.request("GET", "/lists/nolist"), 404, "Resource Not Found")
    assert_problem(mailchimp_api.request("GET", "/no-such-thing"), 404, "Resource Not Found")


def test_wrong_method_is_405_with_allow(mailchimp_api):
    response = mailchimp_api.request("PUT", mailchimp_api.members_path())
    assert_problem(response, 405, "Method Not Allowed")
    assert response.headers["Allow"] == "GET, POST"


def test_malformed_json_is_json_parse_exception(mailchimp_api):
    response = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "JSON Parse Exception")


def test_lists_and_list(mailchimp_api):
    lists = mailchimp_api.request("GET", "/lists").json()
    assert lists["total_items"] == 1
    assert [entry["id"] for entry in lists["lists"]] == [mailchimp_api.list_id]
    audience = mailchimp_api.request("GET", f"/lists/{mailchimp_api.list_id}").json()
    assert audience["id"] == mailchimp_api.list_id
    assert audience["stats"]["member_count"] == 0
    assert audience["stats"]["merge_field_count"] == 5
    assert any(link["rel"] == "self" for link in audience["_links"])


def test_fields_and_exclude_fields(mailchimp_api):
    audience = mailchimp_api.request(
        "GET", f"/lists/{mailchimp_api.list_id}", params={"fields": "id,stats.member_count"}
    ).json()
    assert audience == {"id": mailchimp_api.list_id, "stats": {"member_count": 0}}
    trimmed = mailchimp_api.request(
        "GET", f"/lists/{mailchimp_api.list_id}", params={"exclude_fields": "_links,stats"}
    )
    assert "stats" not in trimmed.json()
    assert trimmed.json()["id"] == mailchimp_api.list_id


def test_unknown_field_names_are_ignored_as_mailchimp_does_and_recorded(mailchimp_api):
    list_path = f"/lists/{mailchimp_api.list_id}"
    misspelt = mailchimp_api.request("GET", list_path, params={"fields": "id,nmae,stats.member_cnt"})
    assert misspelt.status_code == 200
    assert misspelt.json() == {"id": mailchimp_api.list_id, "stats": {}}
    unprefixed = mailchimp_api.request("GET", "/lists", params={"exclude_fields": "contact"}).json()
    assert "contact" in unprefixed["lists"][0]  # on a collection the name needs its `lists.` prefix
    no_members = mailchimp_api.request(
        "GET", mailchimp_api.members_path(), params={"fields": "members.email_address,total_items"}
    )
    assert no_members.json() == {"members": [], "total_items": 0}  # nothing to judge the names by
    known = mailchimp_api.request("GET", list_path, params={"fields": "id,name,stats.member_count"})
    assert set(known.json()) == {"id", "name", "stats"}
    assert mailchimp_api.stats()["unknown_fields"] == {
        "GET /lists": ["contact"],
        "GET /lists/{list_id}": ["nmae", "stats.member_cnt"],
    }
    assert mailchimp_api.control("POST", "reset").status_code == 200
    assert mailchimp_api.stats()["unknown_fields"] == {}


def test_control_endpoints_need_no_auth_and_are_not_counted(mailchimp_api):
    mailchimp_api.request("GET", "/ping")
    stats = mailchimp_api.stats()
    assert stats["requests"] == {"GET /ping": {"200": 1}}
    assert stats["total_requests"] == 1

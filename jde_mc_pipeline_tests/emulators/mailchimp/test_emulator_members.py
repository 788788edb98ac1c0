"""List members in the emulator: upsert, create, rename, archive, erase and the status rules."""

from __future__ import annotations

import hashlib

import pytest

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


def put(api, email, hash_of=None, **body):
    body.setdefault("email_address", email)
    return api.request("PUT", api.members_path(md5(hash_of or email)), json=body)


def test_subscriber_hash_is_md5_of_lower_cased_email(mailchimp_api):
    assert md5("urist.mcvankab@freddiesjokes.com") == "62eeb292278cc15f5817cb78f7790b08"
    response = put(mailchimp_api, "Ada.Lovelace@Gmail.com", status_if_new="subscribed")
    assert response.status_code == 200
    member = response.json()
    assert member["id"] == md5("ada.lovelace@gmail.com")
    assert member["email_address"] == "Ada.Lovelace@Gmail.com"
    assert member["status"] == "subscribed"
    assert len(member["unique_email_id"]) == 10 and len(member["contact_id"]) == 32
    assert member["merge_fields"] == {"FNAME": "", "LNAME": "", "ADDRESS": "", "PHONE": "", "BIRTHDAY": ""}
    fetched = mailchimp_api.request("GET", mailchimp_api.members_path(member["id"]))
    assert fetched.json()["contact_id"] == member["contact_id"]


def test_put_status_if_new_only_applies_on_create(mailchimp_api):
    put(mailchimp_api, "grace@gmail.com", status_if_new="subscribed", merge_fields={"FNAME": "Grace"})
    mailchimp_api.request(
        "PATCH", mailchimp_api.members_path(md5("grace@gmail.com")), json={"status": "unsubscribed"}
    )
    again = put(
        mailchimp_api, "grace@gmail.com", status_if_new="subscribed", merge_fields={"LNAME": "Hopper"}
    )
    assert again.status_code == 200
    member = again.json()
    assert member["status"] == "unsubscribed"
    assert member["unsubscribe_reason"] == "N/A (Unsubscribed by admin)"
    assert member["merge_fields"]["FNAME"] == "Grace" and member["merge_fields"]["LNAME"] == "Hopper"
    assert member["full_name"] == "Grace Hopper"


def test_creating_put_without_status_is_invalid(mailchimp_api):
    document = assert_problem(put(mailchimp_api, "x@gmail.com"), 400, "Invalid Resource")
    assert document["errors"] == [
        {"field": "", "message": "Required fields were not provided: status_if_new"}
    ]


def test_admin_unsubscribe_can_be_resubscribed(mailchimp_api):
    put(mailchimp_api, "a@gmail.com", status="unsubscribed")
    response = put(mailchimp_api, "a@gmail.com", status="subscribed")
    assert response.status_code == 200
    assert response.json()["status"] == "subscribed"


@pytest.mark.parametrize("action", ["unsubscribe", "clean"])
def test_self_unsubscribed_or_cleaned_member_is_in_compliance_state(mailchimp_api, action):
    put(mailchimp_api, "b@gmail.com", status_if_new="subscribed")
    control = mailchimp_api.control(
        "POST", f"lists/{mailchimp_api.list_id}/members/{md5('b@gmail.com')}/{action}"
    )
    assert control.status_code == 200
    response = put(mailchimp_api, "b@gmail.com", status="subscribed")
    document = assert_problem(response, 400, "Member In Compliance State")
    assert "type" not in document
    assert document["detail"] == (
        "b@gmail.com is in a compliance state due to unsubscribe, bounce, or compliance review "
        "and cannot be subscribed."
    )
    patched = mailchimp_api.request(
        "PATCH", mailchimp_api.members_path(md5("b@gmail.com")), json={"status": "subscribed"}
    )
    assert_problem(patched, 400, "Member In Compliance State")
    assert put(mailchimp_api, "b@gmail.com", status_if_new="subscribed").json()["status"] in (
        "unsubscribed",
        "cleaned",
    )
    if action == "unsubscribe":
        assert put(mailchimp_api, "b@gmail.com", status="pending").json()["status"] == "pending"


def test_post_is_create_only(mailchimp_api):
    body = {"email_address": "c@gmail.com", "status": "subscribed", "tags": ["erp"]}
    created = mailchimp_api.request("POST", mailchimp_api.members_path(), json=body)
    assert created.status_code == 200
    assert created.json()["tags"][0]["name"] == "erp"
    document = assert_problem(
        mailchimp_api.request("POST", mailchimp_api.members_path(), json=body), 400, "Member Exists"
    )
    assert "type" not in document
    assert (
        document["detail"]
        == "c@gmail.com is already a list member. Use PUT to insert or update list members."
    )


def test_put_with_wrong_hash_for_existing_email_is_member_exists(mailchimp_api):
    put(mailchimp_api, "dora@gmail.com", status_if_new="subscribed")
    wrong_hash = hashlib.md5(b"Dora@Gmail.com").hexdigest()
    response = mailchimp_api.request(
        "PUT",
        mailchimp_api.members_path(wrong_hash),
        json={"email_address": "Dora@Gmail.com", "status_if_new": "subscribed"},
    )
    assert_problem(response, 400, "Member Exists")


def test_put_with_unknown_hash_creates_the_body_email(mailchimp_api):
    response = mailchimp_api.request(
        "PUT",
        mailchimp_api.members_path("0" * 32),
        json={"email_address": "eve@gmail.com", "status_if_new": "pending"},
    )
    assert response.status_code == 200
    assert response.json()["id"] == md5("eve@gmail.com")
    assert mailchimp_api.request("GET", mailchimp_api.members_path("0" * 32)).status_code == 404


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_rename_keeps_contact_id_and_tags(mailchimp_api, method):
    old = put(mailchimp_api, "old@gmail.com", status_if_new="subscribed", tags=["vip"]).json()
    renamed = mailchimp_api.request(
        method, mailchimp_api.members_path(old["id"]), json={"email_address": "new@gmail.com"}
    )
    assert renamed.status_code == 200
    member = renamed.json()
    assert member["id"] == md5("new@gmail.com")
    assert member["contact_id"] == old["contact_id"] and member["web_id"] == old["web_id"]
    assert member["unique_email_id"] != old["unique_email_id"]
    assert [t["name"] for t in member["tags"]] == ["vip"]
    assert mailchimp_api.request("GET", mailchimp_api.members_path(old["id"])).status_code == 404


def test_rename_onto_existing_member_is_member_exists(mailchimp_api):
    first = put(mailchimp_api, "one@gmail.com", status_if_new="subscribed").json()
    put(mailchimp_api, "two@gmail.com", status_if_new="subscribed")
    response = mailchimp_api.request(
        "PATCH", mailchimp_api.members_path(first["id"]), json={"email_address": "two@gmail.com"}
    )
    assert_problem(response, 400, "Member Exists")
    assert (
        mailchimp_api.request("GET", mailchimp_api.members_path(first["id"])).json()["email_address"]
        == "one@gmail.com"
    )


def test_patch_of_missing_member_is_404(mailchimp_api):
    response = mailchimp_api.request(
        "PATCH", mailchimp_api.members_path(md5("nobody@gmail.com")), json={"vip": True}
    )
    assert_problem(response, 404, "Resource Not Found")


def test_archive_then_revive_and_archive_refusal(mailchimp_api):
    member = put(mailchimp_api, "f@gmail.com", status_if_new="subscribed").json()
    path = mailchimp_api.members_path(member["id"])
    deleted = mailchimp_api.request("DELETE", path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert deleted.headers["Content-Type"] == "application/json; charset=utf-8"
    assert mailchimp_api.request("GET", path).json()["status"] == "archived"
    again = mailchimp_api.request("DELETE", path)
    document = assert_problem(again, 405, "Method Not Allowed")
    assert again.headers["Allow"] == "GET, PUT"
    assert "Can not archive a contact that is bounced, pending or archived" in document["detail"]
    revived = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), json={"email_address": "f@gmail.com", "status": "subscribed"}
    )
    assert revived.status_code == 200
    assert revived.json()["status"] == "subscribed"
    assert revived.json()["contact_id"] == member["contact_id"]


def test_permanent_delete_forgets_the_email(mailchimp_api):
    member = put(mailchimp_api, "g@gmail.com", status_if_new="subscribed").json()
    path = mailchimp_api.members_path(member["id"])
    assert mailchimp_api.request("POST", f"{path}/actions/delete-permanent").status_code == 204
    assert mailchimp_api.request("GET", path).status_code == 404
    document = assert_problem(
        put(mailchimp_api, "g@gmail.com", status_if_new="subscribed"), 400, "Forgotten Email Not Subscribed"
    )
    assert document["detail"].startswith("g@gmail.com was permanently deleted and cannot be re-imported.")
    posted = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), json={"email_address": "G@gmail.com", "status": "subscribed"}
    )
    assert_problem(posted, 400, "Forgotten Email Not Subscribed")


@pytest.mark.parametrize("email", ["AAAAA", "a b@gmail.com", "x@localhost", ""])
def test_invalid_email_syntax(mailchimp_api, email):
    response = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), json={"email_address": email, "status": "subscribed"}
    )
    document = assert_problem(response, 400, "Invalid Resource")
    assert document["detail"] == "Please provide a valid email address."


def test_fake_looking_email_rule_is_configurable(mailchimp_api, mailchimp_emulator_factory):
    response = put(mailchimp_api, "foo@example.com", status_if_new="subscribed")
    document = assert_problem(response, 400, "Invalid Resource")
    assert document["detail"] == "foo@example.com looks fake or invalid, please enter a real email address."
    assert put(mailchimp_api, "foo@mail.test-shop.example.org", status_if_new="subscribed").status_code == 400
    from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi

    lenient = MailchimpApi(mailchimp_emulator_factory(fake_email_domains=["fake.io"]))
    assert put(lenient, "foo@example.com", status_if_new="subscribed").status_code == 200
    assert put(lenient, "foo@fake.io", status_if_new="subscribed").status_code == 400


def test_missing_required_post_fields(mailchimp_api):
    response = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), json={"email_address": "h@gmail.com"}
    )
    document = assert_problem(response, 400, "Invalid Resource")
    assert document["errors"] == [{"field": "", "message": "Required fields were not provided: status"}]
    bad_status = mailchimp_api.request(
        "POST", mailchimp_api.members_path(), json={"email_address": "h@gmail.com", "status": "happy"}
    )
    assert assert_problem(bad_status, 400, "Invalid Resource")["errors"][0]["field"] == "status"


def test_transactional_is_not_a_patch_status(mailchimp_api):
    member = put(mailchimp_api, "t@gmail.com", status_if_new="subscribed").json()
    response = mailchimp_api.request(
        "PATCH", mailchimp_api.members_path(member["id"]), json={"status": "transactional"}
    )
    assert_problem(response, 400, "Invalid Resource")


def test_collection_paging_and_status_filter(mailchimp_api):
    for index in range(15):
        put(mailchimp_api, f"p{index}@gmail.com", status_if_new="subscribed" if index % 3 else "pending")
    first = mailchimp_api.request("GET", mailchimp_api.members_path()).json()
    assert (
        len(first["members"]) == 10
        and first["total_items"] == 15
        and first["list_id"] == mailchimp_api.list_id
    )
    second = mailchimp_api.request(
        "GET", mailchimp_api.members_path(), params={"offset": 10, "count": 10}
    ).json()
    assert [m["email_address"] for m in second["members"]] == [f"p{i}@gmail.com" for i in range(10, 15)]
    pending = mailchimp_api.request(
        "GET", mailchimp_api.members_path(), params={"status": "pending", "count": 1000}
    ).json()
    assert pending["total_items"] == 5
    assert {m["status"] for m in pending["members"]} == {"pending"}
    capped = mailchimp_api.request("GET", mailchimp_api.members_path(), params={"count": 5000})
    assert capped.status_code == 200 and len(capped.json()["members"]) == 15
    audience = mailchimp_api.request("GET", f"/lists/{mailchimp_api.list_id}").json()
    assert audience["stats"]["member_count"] == 10


def test_member_tags(mailchimp_api):
    member = put(mailchimp_api, "tags@gmail.com", status_if_new="subscribed", tags=["Marketer"]).json()
    path = mailchimp_api.members_path(member["id"]) + "/tags"
    body = {
        "tags": [{"name": "JDE Customer", "status": "active"}, {"name": "Marketer", "status": "inactive"}]
    }
    response = mailchimp_api.request("POST", path, json=body)
    assert response.status_code == 204 and response.content == b""
    tags = mailchimp_api.request("GET", path).json()
    assert [t["name"] for t in tags["tags"]] == ["JDE Customer"] and tags["total_items"] == 1
    assert isinstance(tags["tags"][0]["id"], int) and tags["tags"][0]["date_added"]
    assert mailchimp_api.request("POST", path, json={"tags": []}).status_code == 204
    unwrapped = mailchimp_api.request("POST", path, json={"name": "x", "status": "active"})
    assert_problem(unwrapped, 400, "Invalid Resource")
    bad_status = mailchimp_api.request("POST", path, json={"tags": [{"name": "x", "status": "on"}]})
    assert_problem(bad_status, 400, "Invalid Resource")
    missing = mailchimp_api.request("POST", mailchimp_api.members_path("f" * 32) + "/tags", json=body)
    assert_problem(missing, 404, "Resource Not Found")


def test_tags_on_put_apply_only_on_create(mailchimp_api):
    put(mailchimp_api, "tp@gmail.com", status_if_new="subscribed", tags=["first"])
    member = put(mailchimp_api, "tp@gmail.com", status_if_new="subscribed", tags=["second"]).json()
    assert [t["name"] for t in member["tags"]] == ["first"]


def test_marketing_permissions_are_refused_on_an_audience_without_gdpr_fields(mailchimp_api):
    permissions = [{"marketing_permission_id": "d7ce21601c", "enabled": True}]
    response = put(
        mailchimp_api, "gdpr@gmail.com", status_if_new="subscribed", marketing_permissions=permissions
    )
    assert assert_problem(response, 400, "Invalid Resource")["errors"][0]["field"] == "marketing_permissions"
    assert (
        put(mailchimp_api, "gdpr@gmail.com", status_if_new="subscribed", marketing_permissions=[]).status_code
        == 200
    )

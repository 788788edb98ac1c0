"""Batch subscribe (`POST /lists/{list_id}`) in the emulator."""

from __future__ import annotations

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put


def subscribe(api, members, params=None, **flags):
    return api.request("POST", f"/lists/{api.list_id}", params=params, json={"members": members, **flags})


def test_reference_example_without_update_existing(mailchimp_api):
    put(mailchimp_api, "grace@gmail.com", status_if_new="subscribed")
    response = subscribe(
        mailchimp_api,
        [
            {
                "email_address": "ada.lovelace@gmail.com",
                "status": "subscribed",
                "merge_fields": {"FNAME": "Ada"},
                "tags": ["erp"],
            },
            {"email_address": "grace@gmail.com", "status": "subscribed"},
            {"email_address": "AAAAA", "status_if_new": "transactional"},
        ],
        update_existing=False,
    )
    assert response.status_code == 200
    document = response.json()
    assert [m["email_address"] for m in document["new_members"]] == ["ada.lovelace@gmail.com"]
    assert document["new_members"][0]["tags"][0]["name"] == "erp"
    assert document["updated_members"] == []
    assert document["errors"] == [
        {
            "email_address": "grace@gmail.com",
            "error": "grace@gmail.com is already a list member, do you want to update? "
            "please provide update_existing:true in the request body",
            "error_code": "ERROR_CONTACT_EXISTS",
        },
        {
            "email_address": "AAAAA",
            "error": "Please provide a valid email address.",
            "error_code": "ERROR_GENERIC",
        },
    ]
    assert (document["total_created"], document["total_updated"], document["error_count"]) == (1, 0, 2)


def test_update_existing_with_status_if_new_never_resubscribes(mailchimp_api):
    put(mailchimp_api, "admin-unsub@gmail.com", status="unsubscribed")
    put(mailchimp_api, "self-unsub@gmail.com", status_if_new="subscribed")
    mailchimp_api.self_unsubscribe(md5("self-unsub@gmail.com"))
    members = [
        {"email_address": email, "status_if_new": "subscribed", "merge_fields": {"FNAME": "Updated"}}
        for email in ("admin-unsub@gmail.com", "self-unsub@gmail.com", "brand-new@gmail.com")
    ]
    document = subscribe(mailchimp_api, members, update_existing=True).json()
    assert document["error_count"] == 0
    assert [m["email_address"] for m in document["new_members"]] == ["brand-new@gmail.com"]
    assert document["new_members"][0]["status"] == "subscribed"
    updated = {m["email_address"]: m for m in document["updated_members"]}
    assert updated["admin-unsub@gmail.com"]["status"] == "unsubscribed"
    assert updated["self-unsub@gmail.com"]["status"] == "unsubscribed"
    assert updated["self-unsub@gmail.com"]["merge_fields"]["FNAME"] == "Updated"


def test_explicit_status_on_compliance_member_is_a_member_error(mailchimp_api):
    put(mailchimp_api, "self-unsub@gmail.com", status_if_new="subscribed")
    mailchimp_api.self_unsubscribe(md5("self-unsub@gmail.com"))
    put(mailchimp_api, "admin-unsub@gmail.com", status="unsubscribed")
    members = [
        {"email_address": "self-unsub@gmail.com", "status": "subscribed"},
        {"email_address": "admin-unsub@gmail.com", "status": "subscribed"},
    ]
    document = subscribe(mailchimp_api, members, update_existing=True).json()
    assert document["errors"] == [
        {
            "email_address": "self-unsub@gmail.com",
            "error": "self-unsub@gmail.com is in a compliance state due to unsubscribe, bounce, "
            "or compliance review and cannot be subscribed.",
            "error_code": "ERROR_GENERIC",
        }
    ]
    assert document["updated_members"][0]["status"] == "subscribed"


def test_forgotten_fake_and_merge_errors_are_per_member(mailchimp_api):
    member = put(mailchimp_api, "gone@gmail.com", status_if_new="subscribed").json()
    mailchimp_api.request("POST", mailchimp_api.members_path(member["id"]) + "/actions/delete-permanent")
    mailchimp_api.request(
        "POST",
        f"/lists/{mailchimp_api.list_id}/merge-fields",
        json={"name": "AN8", "type": "number", "tag": "JDEAN8"},
    )
    members = [
        {"email_address": "gone@gmail.com", "status_if_new": "subscribed"},
        {"email_address": "foo@example.com", "status_if_new": "subscribed"},
        {"email_address": "num@gmail.com", "status_if_new": "subscribed", "merge_fields": {"JDEAN8": "abc"}},
        {"email_address": "ok@gmail.com", "status_if_new": "subscribed"},
    ]
    document = subscribe(mailchimp_api, members, update_existing=True).json()
    errors = {e["email_address"]: e for e in document["errors"]}
    assert errors["gone@gmail.com"]["error"].startswith("gone@gmail.com was permanently deleted")
    assert (
        errors["foo@example.com"]["error"]
        == "foo@example.com looks fake or invalid, please enter a real email address."
    )
    assert errors["num@gmail.com"]["error"] == "Your merge fields were invalid."
    assert (errors["num@gmail.com"]["field"], errors["num@gmail.com"]["field_message"]) == (
        "JDEAN8",
        "Please enter a number",
    )
    assert {e["error_code"] for e in document["errors"]} == {"ERROR_GENERIC"}
    assert document["total_created"] == 1 and document["error_count"] == 3


def test_tags_are_added_and_sync_tags_replaces(mailchimp_api):
    put(mailchimp_api, "tagged@gmail.com", status_if_new="subscribed", tags=["Marketer", "JDE Vendor"])
    added = subscribe(
        mailchimp_api,
        [{"email_address": "tagged@gmail.com", "status_if_new": "subscribed", "tags": ["JDE Customer"]}],
        update_existing=True,
    ).json()
    assert {t["name"] for t in added["updated_members"][0]["tags"]} == {
        "Marketer",
        "JDE Vendor",
        "JDE Customer",
    }
    synced = subscribe(
        mailchimp_api,
        [{"email_address": "tagged@gmail.com", "status_if_new": "subscribed", "tags": ["JDE Customer"]}],
        update_existing=True,
        sync_tags=True,
    ).json()
    assert [t["name"] for t in synced["updated_members"][0]["tags"]] == ["JDE Customer"]


def test_more_than_500_members_is_refused(mailchimp_api):
    members = [{"email_address": f"m{i}@gmail.com", "status_if_new": "subscribed"} for i in range(501)]
    document = assert_problem(subscribe(mailchimp_api, members), 400, "Invalid Resource")
    assert "at most 500" in document["detail"]
    assert mailchimp_api.request("GET", mailchimp_api.members_path()).json()["total_items"] == 0
    accepted = subscribe(mailchimp_api, members[:500]).json()
    assert accepted["total_created"] == 500


def test_duplicates_in_one_request(mailchimp_api):
    members = [
        {"email_address": "dup@gmail.com", "status_if_new": "subscribed", "merge_fields": {"FNAME": "First"}},
        {
            "email_address": "DUP@gmail.com",
            "status_if_new": "subscribed",
            "merge_fields": {"FNAME": "Second"},
        },
    ]
    flagged = subscribe(mailchimp_api, members, update_existing=True).json()
    assert flagged["total_created"] == 1 and flagged["error_count"] == 1
    assert flagged["errors"][0]["email_address"] == "DUP@gmail.com"
    skipped = subscribe(
        mailchimp_api, members, params={"skip_duplicate_check": "true"}, update_existing=True
    ).json()
    assert skipped["total_updated"] == 1 and skipped["error_count"] == 0
    assert skipped["updated_members"][0]["merge_fields"]["FNAME"] == "First"


def test_new_member_needs_a_status(mailchimp_api):
    document = subscribe(mailchimp_api, [{"email_address": "nostatus@gmail.com"}]).json()
    assert document["error_count"] == 1 and document["errors"][0]["error_code"] == "ERROR_GENERIC"


def test_missing_members_is_invalid(mailchimp_api):
    response = mailchimp_api.request(
        "POST", f"/lists/{mailchimp_api.list_id}", json={"update_existing": True}
    )
    assert_problem(response, 400, "Invalid Resource")


def test_fields_trim_the_answer_to_what_the_client_reads(mailchimp_api):
    put(mailchimp_api, "old@gmail.com", status_if_new="subscribed", tags=["Marketer"])
    fields = (
        "new_members.email_address,updated_members.email_address,updated_members.tags,errors,total_created"
    )
    members = [
        {"email_address": "old@gmail.com", "status_if_new": "subscribed", "tags": ["JDE Customer"]},
        {"email_address": "new@gmail.com", "status_if_new": "subscribed"},
        {"email_address": "broken", "status_if_new": "subscribed"},
    ]
    document = subscribe(mailchimp_api, members, params={"fields": fields}, update_existing=True).json()
    assert document["new_members"] == [{"email_address": "new@gmail.com"}]
    assert document["updated_members"][0]["email_address"] == "old@gmail.com"
    assert {t["name"] for t in document["updated_members"][0]["tags"]} == {"Marketer", "JDE Customer"}
    assert set(document["updated_members"][0]) == {"email_address", "tags"}
    assert document["errors"][0]["email_address"] == "broken"
    assert set(document) == {"new_members", "updated_members", "errors", "total_created"}
    whole = subscribe(
        mailchimp_api, members[:1], params={"fields": "updated_members"}, update_existing=True
    ).json()
    assert whole["updated_members"][0]["contact_id"] and whole["updated_members"][0]["_links"]

"""Members, merge fields, tags and the audience, over real HTTP against the Mailchimp emulator."""

from __future__ import annotations

from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.audience import check_audience
from jde_mc_pipeline.mailchimp.errors import AudienceNotFoundError, MailchimpApiError, MergeFieldConflictError
from jde_mc_pipeline.mailchimp.members import subscriber_hash, upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mailchimp.records import MemberWrite
from jde_mc_pipeline_tests.mailchimp.client_support import (
    API_KEY,
    LIST_ID,
    all_members,
    api,
    client_for,
    control,
    member,
    start,
    tag_names,
)


@pytest.fixture
def server(mailchimp_emulator_factory: Any) -> Any:
    return start(mailchimp_emulator_factory)


def write(key: str, email: str, **extra: Any) -> MemberWrite:
    fields = {"FNAME": f"First{key}", "LNAME": "Last", "JDEAN8": key}
    return MemberWrite(
        key, email, extra.pop("status_if_new", "subscribed"), extra.pop("merge_fields", fields), **extra
    )


def test_ping_and_audience(server: Any) -> None:
    client = client_for(server)
    assert client.ping() == "Everything's Chimpy!"
    assert check_audience(client, LIST_ID)["id"] == LIST_ID
    with pytest.raises(AudienceNotFoundError, match="MAILCHIMP_LIST_ID"):
        check_audience(client, "0000000000")


def test_wrong_key_fails_ping_without_showing_the_key(server: Any) -> None:
    wrong = API_KEY.replace("0123", "9999")
    client = client_for(server)
    client.session.auth = ("x", wrong)  # a key the emulator does not know, same data center
    with pytest.raises(MailchimpApiError) as caught:
        client.ping()
    assert caught.value.status == 401
    assert "API Key Invalid" in str(caught.value)
    assert wrong not in str(caught.value) and API_KEY not in str(caught.value)


def test_batch_upsert_reports_created_then_updated_and_never_sends_status(server: Any) -> None:
    sent: list[Any] = []
    client = client_for(server, recorder=sent.append)
    ensure_merge_fields(client, LIST_ID)
    records = [write(str(n), f"person{n}@jde-test.org", tags_active=("JDE Customer",)) for n in range(1200)]
    first = upsert_members(client, LIST_ID, records)
    assert [r.key for r in first] == [r.key for r in records]
    assert {r.outcome for r in first} == {"created"}
    assert first[5].target_key == subscriber_hash("person5@jde-test.org")
    calls = [e for e in sent if e.path.startswith(f"/lists/{LIST_ID}?") or e.path == f"/lists/{LIST_ID}"]
    assert len(calls) == 3  # 500 + 500 + 200
    assert all(
        "status" not in m and m["status_if_new"] == "subscribed"
        for e in calls
        for m in e.request_body["members"]
    )
    assert all(e.request_body["update_existing"] is True for e in calls)

    changed = [write(r.key, r.email_address.upper(), merge_fields={"FNAME": "Renamed"}) for r in records[:10]]
    second = upsert_members(client, LIST_ID, changed)
    assert {r.outcome for r in second} == {"updated"}
    stored = member(server, subscriber_hash("person3@jde-test.org"))
    assert stored["merge_fields"]["FNAME"] == "Renamed"
    assert stored["merge_fields"]["JDEAN8"] == "3"  # a field not sent is left as it was
    assert "JDE Customer" in tag_names(server, subscriber_hash("person3@jde-test.org"))
    assert len(all_members(server)) == 1200


def test_unsubscribed_contact_is_never_resubscribed(server: Any) -> None:
    client = client_for(server)
    record = write("1", "gone@jde-test.org")
    assert upsert_members(client, LIST_ID, [record])[0].outcome == "created"
    hashed = subscriber_hash(record.email_address)
    control(server, "POST", f"/lists/{LIST_ID}/members/{hashed}/unsubscribe")
    again = upsert_members(client, LIST_ID, [write("1", "gone@jde-test.org", merge_fields={"FNAME": "New"})])
    assert again[0].outcome == "updated"
    stored = member(server, hashed)
    assert stored["status"] == "unsubscribed"
    assert stored["merge_fields"]["FNAME"] == "New"


def test_self_unsubscribed_then_archived_contact_is_rejected_in_compliance_state(server: Any) -> None:
    client = client_for(server)
    record = write("1", "optout@jde-test.org")
    upsert_members(client, LIST_ID, [record])
    hashed = subscriber_hash(record.email_address)
    control(server, "POST", f"/lists/{LIST_ID}/members/{hashed}/unsubscribe")
    assert api(server, "DELETE", f"/lists/{LIST_ID}/members/{hashed}").status_code == 204
    [result] = upsert_members(client, LIST_ID, [record])
    assert (result.outcome, result.title) == ("rejected", "Member In Compliance State")
    assert "compliance state" in result.detail
    assert member(server, hashed)["status"] != "subscribed"


def test_refusals_come_back_classified_per_record(server: Any) -> None:
    client = client_for(server)
    forgotten = write("1", "forgotten@jde-test.org")
    upsert_members(client, LIST_ID, [forgotten])
    hashed = subscriber_hash(forgotten.email_address)
    assert (
        api(server, "POST", f"/lists/{LIST_ID}/members/{hashed}/actions/delete-permanent").status_code == 204
    )
    ltv = {"tag": "LTV", "name": "Lifetime value", "type": "number"}
    assert api(server, "POST", f"/lists/{LIST_ID}/merge-fields", ltv).status_code == 200
    records = [
        forgotten,
        write("2", "someone@example.com"),  # the emulator's fake-looking domain
        write("3", "number@jde-test.org", merge_fields={"FNAME": "Ann", "LTV": "not a number"}),
        write("4", "fine@jde-test.org"),
        write("5", "status@jde-test.org", status_if_new="cleaned"),
        write("6", "", status_if_new="subscribed"),
    ]
    results = {r.key: r for r in upsert_members(client, LIST_ID, records)}
    assert len(results) == 6
    assert (results["1"].outcome, results["1"].title) == ("rejected", "Forgotten Email Not Subscribed")
    assert results["2"].outcome == "rejected" and "looks fake or invalid" in results["2"].detail
    assert (results["3"].outcome, results["3"].title) == ("rejected", "Invalid Resource")
    assert "LTV" in results["3"].detail
    assert results["4"].outcome == "created"
    assert (results["5"].outcome, results["5"].title, results["5"].attempts) == (
        "rejected",
        "Invalid Record",
        0,
    )
    assert results["6"].outcome == "rejected"


def test_rename_follows_the_person(server: Any) -> None:
    client = client_for(server)
    old = write("7", "old.address@jde-test.org", tags_active=("JDE Customer",))
    upsert_members(client, LIST_ID, [old])
    before = member(server, subscriber_hash(old.email_address))
    moved = write(
        "7",
        "new.address@jde-test.org",
        previous_email="OLD.address@jde-test.org",
        tags_active=("JDE Customer",),
    )
    [result] = upsert_members(client, LIST_ID, [moved])
    assert result.outcome == "renamed"
    assert result.target_key == subscriber_hash(moved.email_address)
    after = member(server, result.target_key)
    assert after["contact_id"] == before["contact_id"]
    assert member(server, subscriber_hash(old.email_address)) is None
    assert "JDE Customer" in tag_names(server, result.target_key)


def test_rename_onto_an_existing_member_upserts_that_member_and_says_so(server: Any) -> None:
    client = client_for(server)
    upsert_members(client, LIST_ID, [write("1", "first@jde-test.org"), write("2", "second@jde-test.org")])
    [result] = upsert_members(
        client, LIST_ID, [write("1", "second@jde-test.org", previous_email="first@jde-test.org")]
    )
    assert result.outcome == "updated"
    assert "already belongs to another member" in result.detail
    assert member(server, subscriber_hash("first@jde-test.org")) is not None
    [missing] = upsert_members(
        client, LIST_ID, [write("3", "third@jde-test.org", previous_email="nobody@jde-test.org")]
    )
    assert missing.outcome == "created" and "not in the audience" in missing.detail


def test_only_owned_tags_are_touched(server: Any) -> None:
    client = client_for(server)
    record = write("9", "tagged@jde-test.org", tags_active=("JDE Customer", "JDE Vendor"))
    upsert_members(client, LIST_ID, [record])
    hashed = subscriber_hash(record.email_address)
    body = {"tags": [{"name": "VIP", "status": "active"}]}
    assert api(server, "POST", f"/lists/{LIST_ID}/members/{hashed}/tags", body).status_code == 204
    lost_role = write(
        "9", "tagged@jde-test.org", tags_active=("JDE Customer",), tags_inactive=("JDE Vendor",)
    )
    assert upsert_members(client, LIST_ID, [lost_role])[0].outcome == "updated"
    assert tag_names(server, hashed) == {"JDE Customer", "VIP"}


def test_merge_fields_are_created_when_missing_and_conflicts_stop_before_any_write(
    server: Any, mailchimp_emulator_factory: Any
) -> None:
    factory = mailchimp_emulator_factory
    client = client_for(server)
    report = ensure_merge_fields(client, LIST_ID)
    assert set(report.created) <= {"COMPANY", "JDEAN8"}
    assert {"COMPANY", "JDEAN8"} <= set(report.existing)
    assert ensure_merge_fields(client, LIST_ID).created == ()
    company = {"tag": "COMPANY", "name": "Company", "type": "number"}
    fresh = start(factory)
    assert api(fresh, "POST", f"/lists/{LIST_ID}/merge-fields", company).status_code == 200
    client = client_for(fresh)
    before = api(fresh, "GET", f"/lists/{LIST_ID}/merge-fields", count=100).json()["total_items"]
    with pytest.raises(MergeFieldConflictError, match="COMPANY is of type 'number'") as caught:
        ensure_merge_fields(client, LIST_ID)
    assert "nothing was written" in str(caught.value)
    assert api(fresh, "GET", f"/lists/{LIST_ID}/merge-fields", count=100).json()["total_items"] == before

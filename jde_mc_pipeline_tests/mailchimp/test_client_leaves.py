"""Departures (`on_leave`) and retired members, over real HTTP against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.leaves import LEFT, apply_leaves
from jde_mc_pipeline.mailchimp.members import subscriber_hash, upsert_members
from jde_mc_pipeline.mailchimp.records import CustomerWrite, LeaveWrite, MemberWrite
from jde_mc_pipeline_tests.mailchimp.client_support import (
    LIST_ID,
    STORE_ID,
    all_customers,
    api,
    client_for,
    member,
    start,
    stats,
    tag_names,
)

OWNED = ("JDE Customer", "JDE Vendor")


@pytest.fixture
def server(mailchimp_emulator_factory: Any) -> Any:
    return start(mailchimp_emulator_factory)


def contact(email: str, tags: tuple[str, ...] = ("JDE Vendor",), **extra: Any) -> MemberWrite:
    return MemberWrite("1", email, "subscribed", {"FNAME": "Ann"}, tags, **extra)


def mark(server: Any, email: str, tag: str) -> None:
    """A marketer's tag, set in Mailchimp by hand."""
    body = {"tags": [{"name": tag, "status": "active"}]}
    api(server, "POST", f"/lists/{LIST_ID}/members/{subscriber_hash(email)}/tags", body)


def requests_made(server: Any) -> int:
    return sum(
        sum(s.values()) for endpoint, s in stats(server)["requests"].items() if "_emulator" not in endpoint
    )


def test_untag_sets_only_the_owned_tags_inactive_and_keeps_the_contact(server: Any) -> None:
    client = client_for(server)
    upsert_members(client, LIST_ID, [contact("ann@jde-test.org")])
    mark(server, "ann@jde-test.org", "VIP")
    hash_ = subscriber_hash("ann@jde-test.org")
    [result] = apply_leaves(
        client,
        LIST_ID,
        STORE_ID,
        [LeaveWrite("1", "list_member", hash_, "ann@jde-test.org", "untag", ("JDE Vendor",))],
    )
    assert (result.outcome, result.detail) == (LEFT, "untag: tags set inactive: JDE Vendor")
    assert tag_names(server, hash_) == {"VIP"}
    assert member(server, hash_)["status"] == "subscribed"


def test_archive_archives_the_member_and_deletes_the_customer(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_members(client, LIST_ID, [contact("ann@jde-test.org")])
    hash_ = subscriber_hash("ann@jde-test.org")
    upsert_customers(client, STORE_ID, [CustomerWrite("1", hash_, "ann@jde-test.org", False)])
    results = apply_leaves(
        client,
        LIST_ID,
        STORE_ID,
        [
            LeaveWrite("1", "list_member", hash_, "ann@jde-test.org", "archive"),
            LeaveWrite("1", "ecommerce_customer", hash_, "ann@jde-test.org", "archive"),
        ],
    )
    assert [r.outcome for r in results] == [LEFT, LEFT]
    assert member(server, hash_)["status"] == "archived"
    assert all_customers(server) == []
    again = apply_leaves(
        client, LIST_ID, STORE_ID, [LeaveWrite("1", "ecommerce_customer", hash_, "a", "archive")]
    )
    assert (again[0].outcome, again[0].detail) == (LEFT, "archive: customer deleted (already gone)")


def test_none_and_an_untag_with_nothing_active_send_nothing(server: Any) -> None:
    client = client_for(server)
    before = requests_made(server)
    results = apply_leaves(
        client,
        LIST_ID,
        STORE_ID,
        [
            LeaveWrite("1", "list_member", "h1", "a@jde-test.org", "none"),
            LeaveWrite("2", "list_member", "h2", "b@jde-test.org", "untag", ()),
            LeaveWrite("3", "ecommerce_customer", "h3", "c@jde-test.org", "untag"),
        ],
    )
    assert [r.outcome for r in results] == [LEFT] * 3
    assert requests_made(server) == before


def test_a_member_write_retires_old_members_after_it_succeeded(server: Any) -> None:
    client = client_for(server)
    upsert_members(client, LIST_ID, [contact("old@jde-test.org"), contact("taken@jde-test.org")])
    mark(server, "old@jde-test.org", "VIP")
    old = subscriber_hash("old@jde-test.org")
    moved = contact("taken@jde-test.org", ("JDE Customer", "JDE Vendor"), retires=(old,), retire_tags=OWNED)
    [result] = upsert_members(client, LIST_ID, [moved])
    assert result.outcome == "updated"
    assert f"old member {old} left as it is, its tags set inactive" in result.detail
    assert tag_names(server, old) == {"VIP"}  # the contact and the marketer's tag stay
    assert member(server, old)["status"] == "subscribed"
    assert tag_names(server, subscriber_hash("taken@jde-test.org")) >= set(OWNED)


def test_a_retired_member_that_is_gone_needs_nothing(server: Any) -> None:
    client = client_for(server)
    gone = subscriber_hash("never@jde-test.org")
    [result] = upsert_members(
        client, LIST_ID, [contact("new@jde-test.org", retires=(gone,), retire_tags=OWNED)]
    )
    assert result.outcome == "created"

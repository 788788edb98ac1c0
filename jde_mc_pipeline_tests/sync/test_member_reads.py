"""The dry run's member reads: one GET per member, or the audience in pages, give the same answer."""

from __future__ import annotations

import hashlib

from jde_mc_pipeline.sync.member_reads import read_members
from jde_mc_pipeline.sync.predicted_outcomes import Contact
from jde_mc_pipeline_tests.sync.support import api, control


def _hash(email: str) -> str:
    return hashlib.md5(email.encode()).hexdigest()


def test_both_ways_find_the_same_members_archived_included(mc_server, mc_client):
    emails = [f"reader{n}@shop.io" for n in range(6)]
    for email in emails:
        body = {"email_address": email, "status_if_new": "subscribed"}
        assert api(mc_server, "PUT", f"/lists/{mc_server.list_id}/members/{_hash(email)}", body).ok
    control(mc_server, "POST", f"lists/{mc_server.list_id}/members/{_hash(emails[0])}/unsubscribe")
    assert (
        api(mc_server, "DELETE", f"/lists/{mc_server.list_id}/members/{_hash(emails[1])}").status_code == 204
    )
    wanted = [_hash(e) for e in emails[:4]] + [
        _hash("absent@shop.io"),
        _hash("gone@shop.io"),
        _hash("x@shop.io"),
    ]

    direct = read_members(mc_client, mc_server.list_id, wanted)
    paged = read_members(mc_client, mc_server.list_id, wanted, direct_limit=0)

    assert direct == paged
    assert direct[_hash(emails[0])] == Contact(emails[0], "unsubscribed")
    assert direct[_hash(emails[1])] == Contact(emails[1], "archived")
    assert direct[_hash(emails[2])] == Contact(emails[2], "subscribed")
    assert [h for h, found in direct.items() if found is None] == wanted[4:]
    endpoints = control(mc_server, "GET", "stats")["requests"]
    assert sum(endpoints["GET /lists/{list_id}/members"].values()) == 2  # one page of each kind
    assert sum(endpoints["GET /lists/{list_id}/members/{subscriber_hash}"].values()) == len(wanted)

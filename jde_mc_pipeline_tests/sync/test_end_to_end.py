"""End to end (issue 4 Proof): demo data in the JDE emulator → extraction → mapping → the Mailchimp client →
the Mailchimp emulator, whose state is read back through the real API paths and compared with the
contract computed independently from the JDE rows (expected.py)."""

from __future__ import annotations

import pytest

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB as JOB
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import extract_through, jde_now
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import sync_batch
from jde_mc_pipeline_tests.sync import expected
from jde_mc_pipeline_tests.sync.conftest import FAST_RETRY
from jde_mc_pipeline_tests.sync.support import all_members, customer, member, tag_names

DEMO_PARTIES = 300
SAMPLE = 40


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """Both emulators after one whole sync of the JDE demo data, and the contract computed from its rows.

    Module-scoped (one sync for the three tests), so the servers are built here rather than by the
    function-scoped factory fixtures."""
    jde = build_jde(demo=DEMO_PARTIES, seed=11).start()
    server = build_mailchimp(seed=7, batch_step_seconds=0.02).start()
    try:
        today = jde_now("UTC").day
        with AisClient(jde.url, "JDE", "JDE", environment="JDV920") as ais:
            frames = extract_through(ais, today).frames
        settings = SyncSettings(list_id=server.list_id)
        store = AuditStore(tmp_path_factory.mktemp("e2e") / "audit_trail.duckdb")
        with MailchimpClient(server.api_key, api_url=server.api_url, retry=FAST_RETRY) as client:
            report = sync_batch(frames, client, store, settings, run_id="e2e", job=JOB, today=today)
        yield report, expected.parties(jde.url, today), server
    finally:
        jde.stop()
        server.stop()


def test_members_are_the_distinct_valid_emails_of_the_parties_in_scope(synced):
    report, parties, server = synced

    wanted = {p.email for p in parties.values() if p.in_scope and p.email}
    held = {m["email_address"] for m in all_members(server)}
    assert report.reconciliation.ok
    assert len(wanted) > DEMO_PARTIES // 2
    assert held == wanted
    assert set(report.outcomes.loc[report.outcomes["target"] == "list_member", "outcome"]) <= {
        "created",
        "merged",
        "quarantined:no_email",
        "quarantined:invalid_email",
        "skipped:out_of_scope",
    }


def test_a_sample_of_members_and_customers_matches_the_contract(synced):
    _, parties, server = synced
    groups = expected.sharing(parties)
    alone = sorted(
        (p for p in parties.values() if p.in_scope and p.email and len(groups[p.email]) == 1),
        key=lambda p: p.an8,
    )
    sample = alone[:: max(1, len(alone) // SAMPLE)]
    assert len(sample) >= SAMPLE // 2
    with_address = 0
    for party in sample:
        found = member(server, expected.subscriber_hash(party.email))
        assert found is not None, party.an8
        assert found["email_address"] == party.email
        assert found["status"] == "subscribed"
        fields = found["merge_fields"]
        assert fields["JDEAN8"] == str(party.an8)
        assert fields["COMPANY"] == party.company
        assert fields["FNAME"] == party.first_name
        assert fields["LNAME"] == party.last_name
        assert fields["PHONE"] in (party.phone_choices or {""})
        assert tag_names(server, found["id"]) == party.tags
        address = party.address or {}
        complete = all(address.get(k) for k in ("ADD1", "CTY1", "ADDS", "ADDZ"))
        if complete:
            with_address += 1
            assert fields["ADDRESS"]["addr1"] == address["ADD1"]
            assert (fields["ADDRESS"]["city"], fields["ADDRESS"]["state"], fields["ADDRESS"]["zip"]) == (
                address["CTY1"],
                address["ADDS"],
                address["ADDZ"],
            )
            if len(address["CTR"]) in (0, 2):
                assert fields["ADDRESS"]["country"] == (address["CTR"] or "US")
        else:
            assert not fields.get("ADDRESS"), party.an8

        held = customer(server, expected.subscriber_hash(party.email))  # the e-mail's hash is the id
        assert held is not None, party.an8
        assert held["email_address"] == party.email
        assert held["opt_in_status"] is False
        assert (held.get("company") or "") == party.company
        assert (held.get("first_name") or "") == party.first_name
        assert (held.get("last_name") or "") == party.last_name
        if address.get("ADD1"):
            assert held["address"]["address1"] == address["ADD1"]
            assert held["address"].get("postal_code", "") == address["ADDZ"]
    assert with_address > 0


def test_parties_sharing_an_email_leave_one_member_and_one_customer(synced):
    report, parties, server = synced
    groups = {email: group for email, group in expected.sharing(parties).items() if len(group) > 1}
    holders = expected.holders(parties)
    assert groups, "the demo data has no shared e-mail: nothing to check"
    by = report.outcomes.set_index(["an8", "target"])
    for email, group in groups.items():
        holder = holders[email]
        found = member(server, expected.subscriber_hash(email))
        assert found["merge_fields"]["JDEAN8"] == str(holder.an8)
        assert tag_names(server, found["id"]) == set().union(*(p.tags for p in group))
        assert customer(server, expected.subscriber_hash(email))["email_address"] == email  # one, shared
        for party in group:
            if party is not holder:
                assert by.loc[(party.an8, "ecommerce_customer"), "reason"] == f"holder:{holder.an8}"
                assert by.loc[(party.an8, "ecommerce_customer"), "target_key"] == expected.subscriber_hash(
                    email
                )

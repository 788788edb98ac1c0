"""The sync over real HTTP (both emulators) and a real DuckDB file: preparation, outcomes, state, renames.

The JDE side is the 30-party dataset of jde/conftest.py plus three parties added here: 1031 (customer
without e-mail), 1032 (customer with an unusable e-mail) and 1033 (vendor sharing 1001's address and
changed later, so it holds the member and customer records and 1001 is `merged`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from jde_mc_pipeline.mailchimp.errors import MergeFieldConflictError
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.sync.writes import prepare_mailchimp, reconcile
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import (
    api,
    control,
    customer,
    jde_upsert,
    member,
    prefixed,
    rows,
    stamp,
    tag_names,
    write_requests,
)

LATER = stamp(date(2025, 11, 26), 120000)


@pytest.fixture
def extra_parties(jde_emulator):
    """Adds 1031 (no e-mail), 1032 (invalid e-mail) and 1033 (shares party1@example.com, changed later)."""
    jde_upsert(
        jde_emulator.url,
        "F0101",
        [
            prefixed("AB", {"AN8": 1031, "ALPH": "No Mail Co", "AT1": "C", **LATER}),
            prefixed("AB", {"AN8": 1032, "ALPH": "Bad Mail Co", "AT1": "C", **LATER}),
            prefixed("AB", {"AN8": 1033, "ALPH": "Shared Mail Supply", "AT1": "V", **LATER}),
        ],
    )
    jde_upsert(
        jde_emulator.url,
        "F01151",
        [
            prefixed("EA", {"AN8": 1032, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": "bad mail@", **LATER}),
            prefixed(
                "EA", {"AN8": 1033, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": "Party1@Example.com", **LATER}
            ),
        ],
    )


def test_prepare_stops_on_a_conflicting_merge_field_before_any_write(mc_server, mc_client, settings):
    created = api(
        mc_server,
        "POST",
        f"/lists/{mc_server.list_id}/merge-fields",
        {"tag": "COMPANY", "name": "Co", "type": "number"},
    )
    assert created.status_code == 200, created.text
    before = write_requests(mc_server)

    with pytest.raises(MergeFieldConflictError, match="COMPANY is of type 'number'"):
        prepare_mailchimp(mc_client, settings)

    assert write_requests(mc_server) == before
    assert api(mc_server, "GET", "/ecommerce/stores/jde-e1").status_code == 404


def test_prepare_is_idempotent(mc_server, mc_client, settings):
    first = prepare_mailchimp(mc_client, settings)
    writes = write_requests(mc_server)
    second = prepare_mailchimp(mc_client, settings)

    assert set(first.merge_fields.created) == {"COMPANY", "JDEAN8"}
    assert second.merge_fields.created == ()
    assert second.store["list_id"] == mc_server.list_id
    assert write_requests(mc_server) == writes


def test_every_pulled_party_has_exactly_one_outcome_per_target(extra_parties, sync, store):
    report = sync("r1")

    outcomes = report.outcomes
    assert report.reconciliation.ok, report.reconciliation.describe()
    pulled = set(range(1001, 1034))
    assert set(report.result.pulled) == pulled
    assert outcomes.groupby(["an8", "target"]).size().eq(1).all()
    assert set(zip(outcomes["an8"], outcomes["target"], strict=True)) == {
        (a, t) for a in pulled for t in TARGETS
    }
    by = {
        (an8, target): (outcome, reason)
        for an8, target, outcome, reason in outcomes[["an8", "target", "outcome", "reason"]].itertuples(
            index=False
        )
    }
    for target in TARGETS:
        assert by[(1031, target)][0] == "quarantined:no_email"
        assert by[(1032, target)] == ("quarantined:invalid_email", "bad mail@")
        assert by[(1001, target)] == ("merged", "holder:1033")
        assert by[(1033, target)][0] == "created"
        for an8 in range(1026, 1031):  # employees and companies
            assert by[(an8, target)] == ("skipped:out_of_scope", "no_role")
        for an8 in range(1002, 1026):
            assert by[(an8, target)][0] == "created"
    recorded = rows(store, "SELECT an8, target, count(*) FROM sync_outcomes WHERE run_id = 'r1' GROUP BY ALL")
    assert len(recorded) == len(outcomes) and all(n == 1 for *_, n in recorded)
    [(status, counts)] = rows(store, "SELECT status, counts FROM sync_runs WHERE run_id = 'r1'")
    assert status == "succeeded"
    assert sum(pd.read_json(pd.io.common.StringIO(counts), typ="series")) == len(outcomes)


def test_reconcile_reports_missing_duplicated_and_unexpected_pairs():
    outcomes = pd.DataFrame(
        {
            "an8": [1, 1, 2, 2, 2, 9],
            "target": [
                "list_member",
                "ecommerce_customer",
                "list_member",
                "list_member",
                "ecommerce_customer",
                "list_member",
            ],
        }
    )
    result = reconcile([1, 2, 3], outcomes)

    assert not result.ok
    assert set(map(tuple, result.missing.to_numpy())) == {(3, "list_member"), (3, "ecommerce_customer")}
    assert list(map(tuple, result.duplicated[["an8", "target"]].to_numpy())) == [(2, "list_member")]
    assert list(map(tuple, result.unexpected.to_numpy())) == [(9, "list_member")]
    assert reconcile([1], outcomes.iloc[:2]).ok


def test_a_second_sync_of_the_same_data_makes_no_mailchimp_write(sync, mc_server, tmp_path):
    from jde_mc_pipeline.audit.store import AuditStore

    first = sync("r1")
    writes = write_requests(mc_server)
    second = sync("r2", store=AuditStore(tmp_path / "audit_trail.duckdb"))  # a new process's view of the file

    assert write_requests(mc_server) == writes
    sent = first.outcomes.loc[first.outcomes["outcome"] == "created", ["an8", "target"]]
    again = second.outcomes.merge(sent, on=["an8", "target"])
    assert len(again) == len(sent) > 0
    assert set(again["outcome"]) == {"unchanged"}


def test_an_email_change_renames_the_member_and_replaces_the_customer(
    sync, jde_emulator, jde_dataset, mc_server, store
):
    sync("r1")
    old_hash = subscriber_hash("party10@example.com")
    before = member(mc_server, old_hash)
    control(mc_server, "POST", f"lists/{mc_server.list_id}/members/{old_hash}/unsubscribe")
    [email_row] = [r for r in jde_dataset["F01151"] if r["EAAN8"] == 1010]
    jde_upsert(
        jde_emulator.url,
        "F01151",
        [{**email_row, "EAEMAL": "ten.renamed@example.org", "EAUPMJ": LATER["UPMJ"]}],
    )

    report = sync("r2")

    by = report.outcomes.set_index(["an8", "target"])["outcome"]
    assert by[(1010, "list_member")] == "renamed"
    assert by[(1010, "ecommerce_customer")] == "renamed"
    assert member(mc_server, old_hash) is None
    after = member(mc_server, subscriber_hash("ten.renamed@example.org"))
    assert after["email_address"] == "ten.renamed@example.org"
    assert after["contact_id"] == before["contact_id"]
    assert after["status"] == "unsubscribed"
    assert "JDE Customer" in tag_names(mc_server, after["id"])
    new_id, old_id = subscriber_hash("ten.renamed@example.org"), old_hash  # customer ids: the e-mail's hash
    assert customer(mc_server, new_id)["email_address"] == "ten.renamed@example.org"
    assert customer(mc_server, old_id) is None
    writes = rows(
        store,
        "SELECT method, target_key FROM mailchimp_writes "
        "WHERE run_id = 'r2' AND target = 'ecommerce_customer' ORDER BY written_at",
    )
    assert writes == [("PUT", new_id), ("DELETE", old_id)]  # nothing destroyed before its replacement exists
    [(email,)] = rows(store, "SELECT email FROM synced_state WHERE target = 'list_member' AND an8 = 1010")
    assert email == "ten.renamed@example.org"


def test_an_unsubscribed_contact_is_updated_but_not_resubscribed(sync, jde_emulator, jde_dataset, mc_server):
    sync("r1")
    member_hash = subscriber_hash("party12@example.com")
    control(mc_server, "POST", f"lists/{mc_server.list_id}/members/{member_hash}/unsubscribe")
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == 1012]
    jde_upsert(
        jde_emulator.url, "F0101", [{**row, "ABALPH": "Party Twelve Renamed", "ABUPMJ": LATER["UPMJ"]}]
    )

    report = sync("r2")

    assert report.outcomes.set_index(["an8", "target"]).loc[(1012, "list_member"), "outcome"] == "updated"
    after = member(mc_server, member_hash)
    assert after["status"] == "unsubscribed"
    assert after["merge_fields"]["COMPANY"] == "Party Twelve Renamed"


def test_pulled_rows_and_mapped_values_are_in_the_audit(sync, store, jde_dataset):
    sync("r1")

    [(pulled,)] = rows(store, "SELECT count(*) FROM jde_pulls WHERE run_id = 'r1'")
    assert pulled == sum(len(table_rows) for table_rows in jde_dataset.values())
    values = rows(
        store,
        "SELECT source_value, mapped_value FROM mapped_values "
        "WHERE run_id = 'r1' AND an8 = 1003 AND target = 'list_member' AND field = 'COMPANY'",
    )
    assert values == [("Müller GmbH", "Müller GmbH")]

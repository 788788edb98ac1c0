"""mapping.md §5 over real HTTP and a real DuckDB file: a record Mailchimp refuses for good is not retried.

The party is refused once; a second sync of the same data makes no Mailchimp write and records the same
`rejected:<title>` with the reason `refused before in run <id>; ...`; a change of the party's e-mail in
JDE sends it again. Two refusals: an e-mail Mailchimp finds fake (an emulator with its default fake
domains, so the whole example.com dataset is refused), and a member in compliance state (unsubscribed
by the contact, then archived: Mailchimp refuses to add it back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date

import pytest

from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB as JOB
from jde_mc_pipeline.jde.extract import extract_through
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import BatchReport, sync_batch
from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW
from jde_mc_pipeline_tests.sync.conftest import FAST_RETRY
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import (
    api,
    control,
    jde_upsert,
    member,
    rows,
    stamp,
    write_requests,
)

LATER = stamp(date(2025, 11, 26), 120000)
FIXED_EMAIL = "ten@acme-industries.net"


def refused_before(run_id: str) -> str:
    return f"refused before in run {run_id}; not re-sent until its JDE data changes"


@pytest.fixture
def strict_server(mailchimp_emulator_factory):
    """Mailchimp refusing example.com, example.net and example.org as fake (its default)."""
    return mailchimp_emulator_factory(seed=7, batch_step_seconds=0.02)


@pytest.fixture
def strict_sync(ais, strict_server, store) -> Iterator[Callable[[str], BatchReport]]:
    client = MailchimpClient(
        strict_server.api_key, api_url=strict_server.api_url, retry=FAST_RETRY, timeout=(5.0, 10.0)
    )
    settings = SyncSettings(list_id=strict_server.list_id)

    def run(run_id: str) -> BatchReport:
        with ais:
            frames = extract_through(ais, DATASET_NOW.date()).frames
        return sync_batch(frames, client, store, settings, run_id=run_id, job=JOB, today=DATASET_NOW.date())

    yield run
    client.close()


def outcome_table(report: BatchReport) -> dict[tuple[int, str], tuple[str, str]]:
    frame = report.outcomes
    return {
        (int(an8), target): (outcome, reason)
        for an8, target, outcome, reason in zip(
            frame["an8"], frame["target"], frame["outcome"], frame["reason"], strict=True
        )
    }


def change_email(jde_emulator, jde_dataset, an8: int, email: str) -> None:
    [row] = [r for r in jde_dataset["F01151"] if r["EAAN8"] == an8]
    jde_upsert(jde_emulator.url, "F01151", [{**row, "EAEMAL": email, "EAUPMJ": LATER["UPMJ"]}])


def test_a_fake_email_is_refused_once_and_sent_again_only_after_it_changes_in_jde(
    strict_sync, strict_server, store, jde_emulator, jde_dataset
):
    first = strict_sync("r1")
    refused = {key: value for key, value in outcome_table(first).items() if value[0].startswith("rejected:")}
    assert {target for _, target in refused} == {"list_member", "ecommerce_customer"}
    assert (1010, "list_member") in refused and (1010, "ecommerce_customer") in refused
    assert "fake" in refused[(1010, "list_member")][1]  # Mailchimp's detail on the first refusal
    assert first.reconciliation.ok
    writes = write_requests(strict_server)

    second = strict_sync("r2")

    assert write_requests(strict_server) == writes  # not one write: every payload was refused before
    again = outcome_table(second)
    for key, (outcome, _) in refused.items():
        assert again[key] == (outcome, refused_before("r1")), key
    assert second.reconciliation.ok
    assert rows(store, "SELECT count(*) FROM mailchimp_writes WHERE run_id = 'r2' AND method <> 'GET'") == [
        (0,)
    ]
    assert rows(store, "SELECT count(*) FROM synced_rejections") == [(len(refused),)]

    change_email(jde_emulator, jde_dataset, 1010, FIXED_EMAIL)
    third = strict_sync("r3")

    fixed = outcome_table(third)
    assert fixed[(1010, "list_member")][0] == "created"
    assert fixed[(1010, "ecommerce_customer")][0] == "created"
    assert member(strict_server, subscriber_hash(FIXED_EMAIL))["email_address"] == FIXED_EMAIL
    assert write_requests(strict_server) > writes
    for key, (outcome, _) in refused.items():
        if key[0] != 1010:
            assert fixed[key] == (outcome, refused_before("r1")), key
    assert rows(store, "SELECT count(*) FROM synced_rejections WHERE an8 = 1010") == [(0,)]
    assert rows(store, "SELECT count(*) FROM synced_state WHERE an8 = 1010") == [(2,)]


def test_a_member_in_compliance_state_is_refused_once(sync, mc_server, store, jde_emulator, jde_dataset):
    sync("r1")
    member_hash = subscriber_hash("party12@example.com")
    control(mc_server, "POST", f"lists/{mc_server.list_id}/members/{member_hash}/unsubscribe")
    assert api(mc_server, "DELETE", f"/lists/{mc_server.list_id}/members/{member_hash}").status_code == 204
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == 1012]
    jde_upsert(jde_emulator.url, "F0101", [{**row, "ABALPH": "Party Twelve Ltd", "ABUPMJ": LATER["UPMJ"]}])

    second = outcome_table(sync("r2"))

    assert second[(1012, "list_member")][0] == "rejected:Member In Compliance State"
    assert second[(1012, "ecommerce_customer")][0] == "updated"
    writes = write_requests(mc_server)

    third = sync("r3")

    assert write_requests(mc_server) == writes
    assert outcome_table(third)[(1012, "list_member")] == (
        "rejected:Member In Compliance State",
        refused_before("r2"),
    )
    assert outcome_table(third)[(1012, "ecommerce_customer")] == ("unchanged", "")
    assert third.reconciliation.ok

    change_email(jde_emulator, jde_dataset, 1012, "twelve@acme-industries.net")
    fourth = outcome_table(sync("r4"))

    assert fourth[(1012, "list_member")][0] == "renamed"  # sent again: the archived member takes the e-mail
    assert member(mc_server, subscriber_hash("twelve@acme-industries.net")) is not None
    assert write_requests(mc_server) > writes
    assert rows(store, "SELECT count(*) FROM synced_rejections WHERE an8 = 1012") == [(0,)]

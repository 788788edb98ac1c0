"""Answers from the gateway in front of Mailchimp (HTML pages, empty bodies), over real HTTP: the client
backs off on 429 and 5xx pages as on Mailchimp's own, and names a 403 page plainly when it gives up."""

from __future__ import annotations

from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.client import RetryPolicy
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mailchimp.members import upsert_members
from jde_mc_pipeline_tests.mailchimp.client_support import (
    LIST_ID,
    STORE_ID,
    all_customers,
    all_members,
    client_for,
    faults,
    start,
    stats,
)
from jde_mc_pipeline_tests.mailchimp.test_client_resilience import (
    PATIENT,
    QUICK_POLL,
    assert_written_once,
    customers,
    members,
)

QUICK = RetryPolicy(max_attempts=3, max_total_s=10.0, base_wait_s=0.01, max_wait_s=0.05)


def test_html_429_and_503_pages_are_backed_off_like_mailchimps_own(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory, fault_kinds=("html_429", "html_503"))
    client = client_for(server, retry=PATIENT)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=0.3)
    records = members(600)
    results = upsert_members(client, LIST_ID, records, chunk_size=50)
    direct = upsert_customers(client, STORE_ID, customers(30))
    batched = upsert_customers(
        client,
        STORE_ID,
        customers(300)[30:],
        batch_threshold=10,
        batch_size=120,
        poll=QUICK_POLL,
    )
    faults(server, fault_rate=0.0)
    seen = stats(server)
    assert seen["fault_html_429"] > 0 and seen["fault_html_503"] > 0, seen
    assert client.stats["status_429"] > 0 and client.stats["status_503"] > 0
    assert client.stats["retries"] >= seen["fault_html_429"] + seen["fault_html_503"]
    assert_written_once(
        results,
        [m["email_address"] for m in all_members(server)],
        [r.email_address for r in records] + [f"c{i}@jde-test.org" for i in range(300)],
    )
    assert {r.outcome for r in direct + batched} == {"created"}
    assert sorted(int(c["id"]) for c in all_customers(server)) == list(range(300))


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("html_403", "an HTML page titled 'Access Denied'"),
        ("bare_403", "an empty body"),
    ],
)
def test_a_403_page_that_never_goes_away_is_a_clear_error(
    mailchimp_emulator_factory: Any, kind: str, says: str
) -> None:
    server = start(mailchimp_emulator_factory, fault_kinds=(kind,))
    client = client_for(server, retry=QUICK)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=1.0)
    with pytest.raises(MailchimpApiError) as raised:
        client.ping()
    message = str(raised.value)
    assert message.startswith(f"Mailchimp ping failed: HTTP 403 - {says} (not a Mailchimp problem document")
    assert "<" not in message and raised.value.status == 403
    people = upsert_members(client, LIST_ID, members(3))
    bought = upsert_customers(client, STORE_ID, customers(2))
    faults(server, fault_rate=0.0)
    for result in people + bought:
        assert (result.outcome, result.status_code, result.attempts) == ("failed", 403, 3), result
        assert says in (result.detail or ""), result
    assert stats(server)[f"fault_{kind}"] == 1 * 3 + 3 + 2 * 3  # ping, one subscribe call, 2 customer GETs
    assert all_members(server) == []

"""The store and e-commerce customers, direct and through /batches, over real HTTP against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.batches import PollPolicy
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.errors import StoreConflictError
from jde_mc_pipeline.mailchimp.records import CustomerWrite
from jde_mc_pipeline_tests.mailchimp.client_support import (
    LIST_ID,
    STORE_ID,
    all_customers,
    api,
    client_for,
    start,
)

QUICK_POLL = PollPolicy(first_wait_s=0.05, factor=1.5, max_wait_s=0.5, deadline_s=60)


@pytest.fixture
def server(mailchimp_emulator_factory: Any) -> Any:
    return start(mailchimp_emulator_factory)


def customer(n: int, email: str | None = None, **extra: Any) -> CustomerWrite:
    return CustomerWrite(
        key=str(n),
        customer_id=str(n),
        email_address=email or f"buyer{n}@jde-test.org",
        opt_in_status=False,
        company=f"Company {n}",
        first_name="Ann",
        last_name=f"Buyer{n}",
        address={
            "address1": f"{n} Main St",
            "city": "Springfield",
            "province_code": "IL",
            "postal_code": "62701",
            "country_code": "US",
        },
        **extra,
    )


def test_store_is_created_bound_to_the_audience_once(server: Any) -> None:
    client = client_for(server)
    store = ensure_store(client, STORE_ID, LIST_ID, "JDE E1", "USD")
    assert (store["id"], store["list_id"], store["currency_code"]) == (STORE_ID, LIST_ID, "USD")
    assert ensure_store(client, STORE_ID, LIST_ID, "JDE E1", "USD")["id"] == STORE_ID
    assert api(server, "GET", "/ecommerce/stores").json()["total_items"] == 1
    with pytest.raises(StoreConflictError, match="cannot change"):
        ensure_store(client, STORE_ID, "0000000000", "JDE E1", "USD")


def test_direct_upsert_tells_created_from_updated(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    first = upsert_customers(client, STORE_ID, [customer(n) for n in range(20)])
    assert [r.outcome for r in first] == ["created"] * 20
    second = upsert_customers(client, STORE_ID, [customer(n) for n in range(15, 25)])
    assert [r.outcome for r in second] == ["updated"] * 5 + ["created"] * 5
    stored = {c["id"]: c for c in all_customers(server)}
    assert len(stored) == 25
    assert stored["3"]["address"]["city"] == "Springfield"


def test_batch_upsert_maps_every_result_back(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(n) for n in range(10)])
    records = [customer(n) for n in range(300)] + [customer(999, "buyer1@jde-test.org")]
    results = upsert_customers(client, STORE_ID, records, batch_threshold=50, batch_size=120, poll=QUICK_POLL)
    assert len(results) == 301
    assert [r.outcome for r in results[:10]] == ["updated"] * 10
    assert {r.outcome for r in results[10:300]} == {"created"}
    duplicate = results[300]
    assert duplicate.outcome == "rejected"
    assert "This customer email already exists" in duplicate.detail
    assert len(all_customers(server)) == 300


@pytest.mark.parametrize("threshold", [100, 0], ids=["direct", "batches"])
def test_customer_email_change_is_a_delete_and_create_under_the_same_id(server: Any, threshold: int) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(1), customer(2)])
    told = customer(1, "moved@jde-test.org", previous_email="buyer1@jde-test.org")
    untold = customer(2, "alsomoved@jde-test.org")  # the store still has buyer2@: found by looking first
    results = upsert_customers(client, STORE_ID, [told, untold], batch_threshold=threshold, poll=QUICK_POLL)
    assert [r.outcome for r in results] == ["renamed", "renamed"]
    assert "buyer2@jde-test.org" in results[1].detail
    stored = {c["id"]: c["email_address"] for c in all_customers(server)}
    assert stored == {"1": "moved@jde-test.org", "2": "alsomoved@jde-test.org"}


def test_a_put_changing_the_email_is_refused_by_mailchimp(server: Any) -> None:
    """The premise of the delete-and-create rule, checked on the wire rather than assumed."""
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(5)])
    body = {"id": "5", "email_address": "changed@jde-test.org", "opt_in_status": False}
    refused = api(server, "PUT", f"/ecommerce/stores/{STORE_ID}/customers/5", body)
    assert refused.status_code == 400
    assert "may not be changed" in refused.json()["detail"]


def test_bad_records_are_rejected_without_a_call(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    results = upsert_customers(client, STORE_ID, [customer(1, " "), customer(2)])
    assert [(r.outcome, r.attempts) for r in results] == [("rejected", 0), ("created", results[1].attempts)]
    assert results[0].title == "Invalid Record"

"""The store and e-commerce customers, direct and through /batches, over real HTTP against the emulator."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.batches import PollPolicy
from jde_mc_pipeline.mailchimp.client import RetryPolicy
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.errors import StoreConflictError
from jde_mc_pipeline.mailchimp.records import CustomerWrite
from jde_mc_pipeline.mapping.changes import email_hash
from jde_mc_pipeline_tests.mailchimp.client_support import (
    LIST_ID,
    STORE_ID,
    all_customers,
    api,
    client_for,
    faults,
    start,
    stats,
)

FAST_RETRY_SHORT = RetryPolicy(max_attempts=2, max_total_s=2.0, base_wait_s=0.01, max_wait_s=0.05)
QUICK_POLL = PollPolicy(first_wait_s=0.05, factor=1.5, max_wait_s=0.5, deadline_s=60)


@pytest.fixture
def server(mailchimp_emulator_factory: Any) -> Any:
    return start(mailchimp_emulator_factory)


def customer(n: int, email: str | None = None, **extra: Any) -> CustomerWrite:
    """A customer keyed as the mapping keys it: the MD5 of its e-mail."""
    email = email or f"buyer{n}@jde-test.org"
    return CustomerWrite(
        key=str(n),
        customer_id=email_hash(email),
        email_address=email,
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


def legacy(server: Any, customer_id: str, email: str) -> None:
    """A customer written by an earlier release, keyed by the AN8."""
    body = {"id": customer_id, "email_address": email, "opt_in_status": False, "company": "Old"}
    assert (
        api(server, "PUT", f"/ecommerce/stores/{STORE_ID}/customers/{customer_id}", body).status_code == 200
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
    assert stored[email_hash("buyer3@jde-test.org")]["address"]["city"] == "Springfield"


def test_batch_upsert_maps_every_result_back(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(n) for n in range(10)])
    legacy(server, "999", "held@jde-test.org")
    records = [customer(n) for n in range(300)] + [customer(1000, "held@jde-test.org")]
    results = upsert_customers(client, STORE_ID, records, batch_threshold=50, batch_size=120, poll=QUICK_POLL)
    assert len(results) == 301
    assert [r.outcome for r in results[:10]] == ["updated"] * 10
    assert {r.outcome for r in results[10:300]} == {"created"}
    held = results[300]  # another id holds the e-mail, and the record does not replace it
    assert held.outcome == "rejected"
    assert "This customer email already exists" in held.detail
    assert len(all_customers(server)) == 301


def test_batched_puts_carry_no_query_and_their_results_still_map_back(server: Any) -> None:
    """Mailchimp ignores an operation's `params` on a PUT: the client sends none and reads whole answers."""
    sent: list[dict[str, Any]] = []
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    client.recorder = lambda e: (
        sent.append(e.request_body) if (e.method, e.path) == ("POST", "/batches") else None
    )
    records = [customer(n) for n in range(150)]
    results = upsert_customers(client, STORE_ID, records, batch_threshold=10, batch_size=100, poll=QUICK_POLL)
    assert {r.outcome for r in results} == {"created"}
    operations = [op for body in sent for op in body["operations"]]
    assert len(operations) == 150
    assert all(set(op) == {"method", "path", "operation_id", "body"} for op in operations)


def test_batches_refused_for_too_many_pending_are_submitted_again(mailchimp_emulator_factory: Any) -> None:
    """Four batches submitted at once where one may be pending: the others wait their turn, nothing fails.
    Batches of 150 (> SMALL_FAILED_BATCH) would be `failed` whole, not resent one by one, if refused."""
    server = start(mailchimp_emulator_factory, max_pending_batches=1, batch_step_seconds=0.05)
    client = client_for(server, retry=FAST_RETRY_SHORT)  # the client's own retries alone run out
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    records = [customer(n) for n in range(600)]
    results = upsert_customers(client, STORE_ID, records, batch_threshold=10, batch_size=150, poll=QUICK_POLL)
    seen = stats(server)
    assert seen["batches_refused"] >= 3, seen
    assert seen["requests"]["POST /batches"]["200"] == 4
    assert "PUT /ecommerce/stores/{store_id}/customers/{customer_id}" not in seen["requests"]
    assert {r.outcome for r in results} == {"created"}
    assert len(all_customers(server)) == 600
    assert client.cap.effective == client.cap.limit  # a full batch queue is not a connection limit


@pytest.mark.parametrize("threshold", [100, 0], ids=["direct", "batches"])
def test_an_email_change_writes_the_new_customer_then_deletes_the_old_one(
    server: Any, threshold: int
) -> None:
    seen: list[tuple[str, str]] = []
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(1), customer(2)])
    old = email_hash("buyer1@jde-test.org")
    moved = customer(1, "moved@jde-test.org", previous_email="buyer1@jde-test.org", retires=(old,))
    client.recorder = lambda e: (
        seen.append((e.method, e.path)) if e.method in ("PUT", "DELETE", "POST") else None
    )
    results = upsert_customers(
        client, STORE_ID, [moved, customer(2)], batch_threshold=threshold, poll=QUICK_POLL
    )
    assert [r.outcome for r in results] == ["renamed", "updated"]
    assert "buyer1@jde-test.org" in results[0].detail and old in results[0].detail
    stored = {c["id"]: c["email_address"] for c in all_customers(server)}
    assert stored == {
        email_hash("moved@jde-test.org"): "moved@jde-test.org",
        email_hash("buyer2@jde-test.org"): "buyer2@jde-test.org",
    }
    if threshold:  # direct: the order is on the wire
        writes = [(m, p.rsplit("/", 1)[1]) for m, p in seen]
        assert writes.index(("PUT", moved.customer_id)) < writes.index(("DELETE", old))


def test_nothing_is_deleted_when_the_new_customer_cannot_be_written(server: Any) -> None:
    client = client_for(server, retry=FAST_RETRY_SHORT)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(1)])
    old = email_hash("buyer1@jde-test.org")
    moved = customer(1, "moved@jde-test.org", previous_email="buyer1@jde-test.org", retires=(old,))
    faults(server, fault_rate=1.0, kinds=["503"])
    [result] = upsert_customers(client, STORE_ID, [moved])
    faults(server, fault_rate=0.0)
    assert result.outcome == "failed"
    assert {c["id"] for c in all_customers(server)} == {old}  # the old customer is still there
    assert (
        stats(server)["requests"].get("DELETE /ecommerce/stores/{store_id}/customers/{customer_id}") is None
    )


def test_a_failed_delete_after_the_write_leaves_both_customers_and_is_failed(server: Any) -> None:
    client = client_for(server, retry=FAST_RETRY_SHORT)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(1)])
    old = email_hash("buyer1@jde-test.org")
    moved = customer(1, "moved@jde-test.org", previous_email="buyer1@jde-test.org", retires=(old,))

    def break_after_the_put(event: Any) -> None:  # Mailchimp goes down right after the new customer
        if event.method == "PUT" and event.status == 200:
            faults(server, fault_rate=1.0, kinds=["503"])

    client.recorder = break_after_the_put
    [result] = upsert_customers(client, STORE_ID, [moved])
    faults(server, fault_rate=0.0)
    assert result.outcome == "failed"
    assert "customer written; deleting the old customer" in result.detail
    assert {c["id"] for c in all_customers(server)} == {old, moved.customer_id}
    again = upsert_customers(client_for(server), STORE_ID, [moved])  # what a replay sends
    assert [r.outcome for r in again] == ["renamed"]
    assert {c["id"] for c in all_customers(server)} == {moved.customer_id}


@pytest.mark.parametrize("threshold", [100, 0], ids=["direct", "batches"])
def test_a_legacy_id_holding_the_same_email_is_moved_to_the_email_id(server: Any, threshold: int) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    legacy(server, "7", "buyer7@jde-test.org")
    legacy(server, "8", "old8@jde-test.org")
    records = [customer(7, retires=("7",)), customer(8, retires=("8",), previous_email="old8@jde-test.org")]
    results = upsert_customers(client, STORE_ID, records, batch_threshold=threshold, poll=QUICK_POLL)
    assert [r.outcome for r in results] == ["updated", "renamed"]
    assert "old customer 7 deleted" in results[0].detail
    stored = {c["id"]: (c["email_address"], c["company"]) for c in all_customers(server)}
    assert stored == {
        email_hash("buyer7@jde-test.org"): ("buyer7@jde-test.org", "Company 7"),
        email_hash("buyer8@jde-test.org"): ("buyer8@jde-test.org", "Company 8"),
    }


def test_blank_strings_are_sent_and_clear_none_is_left_out(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(1)])
    cleared = replace(
        customer(1), company="", first_name=None, address={**customer(1).address, "address1": ""}
    )
    assert [r.outcome for r in upsert_customers(client, STORE_ID, [cleared])] == ["updated"]
    [stored] = all_customers(server)
    assert (stored["company"], stored["first_name"], stored["address"]["address1"]) == ("", "Ann", "")


def test_a_put_changing_the_email_is_refused_by_mailchimp(server: Any) -> None:
    """Why ids are derived from the e-mail: a customer's e-mail never changes, checked on the wire."""
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(5)])
    customer_id = email_hash("buyer5@jde-test.org")
    body = {"id": customer_id, "email_address": "changed@jde-test.org", "opt_in_status": False}
    refused = api(server, "PUT", f"/ecommerce/stores/{STORE_ID}/customers/{customer_id}", body)
    assert refused.status_code == 400
    assert "may not be changed" in refused.json()["detail"]


def test_bad_records_are_rejected_without_a_call(server: Any) -> None:
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    results = upsert_customers(client, STORE_ID, [replace(customer(1), email_address=" "), customer(2)])
    assert [(r.outcome, r.attempts) for r in results] == [("rejected", 0), ("created", results[1].attempts)]
    assert results[0].title == "Invalid Record"


CUSTOMER_PAGE = "GET /ecommerce/stores/{store_id}/customers"
ONE_CUSTOMER = "GET /ecommerce/stores/{store_id}/customers/{customer_id}"


def reads(server: Any) -> tuple[int, int]:
    """(customer pages, single customers) read so far."""
    seen = stats(server)["requests"]
    return sum(seen.get(CUSTOMER_PAGE, {}).values()), sum(seen.get(ONE_CUSTOMER, {}).values())


@pytest.mark.parametrize(("stored", "sent"), [(2, 3), (200, 300)], ids=["direct", "batches"])
def test_ids_the_state_holds_are_not_read_and_the_others_are_decided_by_mailchimp(
    server: Any, stored: int, sent: int
) -> None:
    """The last third sent is new; of the ids Mailchimp holds, the state lost the last tenth (it is read:
    `updated`, not a duplicate); the others are not read."""
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(n) for n in range(stored)], poll=QUICK_POLL)
    known = {customer(n).customer_id for n in range(stored - max(1, stored // 10))}
    before = reads(server)
    results = upsert_customers(
        client, STORE_ID, [customer(n) for n in range(sent)], poll=QUICK_POLL, known=known
    )
    assert [r.outcome for r in results] == ["updated"] * stored + ["created"] * (sent - stored)
    pages, singles = (now - then for now, then in zip(reads(server), before, strict=True))
    unknown = sent - len(known)
    assert (pages, singles) == ((0, unknown) if sent <= 100 else (1, 0))  # the first page holds them all
    assert len(all_customers(server)) == sent


def test_the_ids_to_read_take_the_cheaper_way(server: Any) -> None:
    """A store of 2,100 customers (3 pages): 150 new ids are read by the 3 pages, 2 lost ids one by one."""
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    upsert_customers(client, STORE_ID, [customer(n) for n in range(2100)], batch_size=1000, poll=QUICK_POLL)
    before = reads(server)
    new = [customer(n) for n in range(2100, 2250)]
    assert {r.outcome for r in upsert_customers(client, STORE_ID, new, poll=QUICK_POLL)} == {"created"}
    middle = reads(server)
    assert (middle[0] - before[0], middle[1] - before[1]) == (3, 0)
    known = {record.customer_id for record in new[:-2]}
    again = upsert_customers(client, STORE_ID, new, poll=QUICK_POLL, known=known)
    assert {r.outcome for r in again} == {"updated"}
    after = reads(server)
    assert (after[0] - middle[0], after[1] - middle[1]) == (1, 2)


def test_past_one_page_a_legacy_id_holding_the_email_is_found_from_the_refusal(server: Any) -> None:
    """The first read does not take the whole store (1,001 customers), so the new id's PUT is refused
    first; only then is the legacy id read, found to hold exactly this e-mail, deleted, and the new id
    written."""
    client = client_for(server)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    others = [customer(n) for n in range(100, 1100)]
    upsert_customers(client, STORE_ID, others, batch_size=1000, poll=QUICK_POLL)
    legacy(server, "7", "buyer7@jde-test.org")
    before = reads(server)
    records = [customer(7, retires=("7",)), *others[:100]]  # more than 100: through batches
    known = {record.customer_id for record in others}
    results = upsert_customers(client, STORE_ID, records, poll=QUICK_POLL, known=known)
    assert [r.outcome for r in results] == ["updated"] * 101
    assert "old customer 7 deleted" in results[0].detail
    after = reads(server)
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)  # first page, then the id: new, legacy
    stored = {c["id"] for c in all_customers(server)}
    assert "7" not in stored and customer(7).customer_id in stored and len(stored) == 1001

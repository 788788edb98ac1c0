"""Limits and faults over real HTTP: 429 storms, 5xx and resets, the connection cap, and the recorder."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import pytest

from jde_mc_pipeline.mailchimp.batches import PollPolicy
from jde_mc_pipeline.mailchimp.client import HttpEvent, RetryPolicy
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.members import upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite
from jde_mc_pipeline_tests.mailchimp.client_support import (
    API_KEY,
    LIST_ID,
    STORE_ID,
    all_customers,
    all_members,
    client_for,
    faults,
    start,
    stats,
)

PATIENT = RetryPolicy(max_attempts=60, max_total_s=120.0, base_wait_s=0.01, max_wait_s=0.3)
QUICK_POLL = PollPolicy(first_wait_s=0.05, factor=1.5, max_wait_s=0.5, deadline_s=120)


def members(n: int, prefix: str = "m") -> list[MemberWrite]:
    return [
        MemberWrite(str(i), f"{prefix}{i}@jde-test.org", "subscribed", {"FNAME": f"N{i}"}, ("JDE Customer",))
        for i in range(n)
    ]


def customers(n: int) -> list[CustomerWrite]:
    return [CustomerWrite(str(i), str(i), f"c{i}@jde-test.org", False, company=f"Co {i}") for i in range(n)]


def assert_written_once(results: list[Any], stored_emails: list[str], expected: list[str]) -> None:
    """Nothing missing, nothing twice; "updated" only where an interrupted retry may hide a create."""
    assert sorted(stored_emails) == sorted(expected)
    for result in results:
        assert result.outcome in ("created", "updated"), result
        if result.outcome == "updated":
            assert "interrupted" in (result.detail or ""), result


def test_a_429_storm_is_survived_with_every_record_written_once(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory, max_connections=2, latency_ms=5)
    client = client_for(server, max_connections=8, retry=PATIENT)
    records = members(1500)
    results = upsert_members(client, LIST_ID, records, chunk_size=50)
    stored = sorted(m["email_address"] for m in all_members(server))
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    bought = upsert_customers(client, STORE_ID, customers(60))
    seen = stats(server)
    assert seen["throttled"] > 0, "the storm did not happen: the test would prove nothing"
    assert client.stats["status_429"] > 0
    assert {r.outcome for r in results} == {"created"}
    assert stored == sorted(r.email_address for r in records)
    assert {r.outcome for r in bought} == {"created"}
    assert sorted(c["id"] for c in all_customers(server)) == sorted(str(i) for i in range(60))


def test_injected_5xx_and_resets_are_survived(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory, slow_ms=300)
    client = client_for(server, retry=PATIENT)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=0.25)
    records = members(1200)
    results = upsert_members(client, LIST_ID, records, chunk_size=100)
    direct = upsert_customers(client, STORE_ID, customers(40))
    big = [CustomerWrite(str(i), str(i), f"c{i}@jde-test.org", False) for i in range(40, 400)]
    batched = upsert_customers(client, STORE_ID, big, batch_threshold=10, batch_size=100, poll=QUICK_POLL)
    faults(server, fault_rate=0.0)
    by_status = json.dumps(stats(server))
    assert any(code in by_status for code in ('"500"', '"503"', "500", "503")), by_status
    assert client.stats["retries"] > 0
    assert len(results) == len(records)
    assert_written_once(
        results,
        [m["email_address"] for m in all_members(server)],
        [r.email_address for r in records] + [f"c{i}@jde-test.org" for i in range(400)],
    )
    assert {r.outcome for r in direct + batched} == {"created"}
    assert sorted(int(c["id"]) for c in all_customers(server)) == list(range(400))


def test_writes_that_may_have_been_applied_before_a_reset_or_timeout_are_reported_honestly(
    mailchimp_emulator_factory: Any,
) -> None:
    server = start(mailchimp_emulator_factory, fault_kinds=("reset_after", "slow"), slow_ms=1500)
    client = client_for(server, retry=PATIENT, timeout=(2.0, 0.5))
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=0.3)
    records = members(400)
    results = upsert_members(client, LIST_ID, records, chunk_size=20)
    bought = upsert_customers(client, STORE_ID, customers(30))
    faults(server, fault_rate=0.0)
    assert len(results) == 400
    assert any(r.attempts > 1 for r in results)
    assert any("interrupted" in (r.detail or "") for r in results), "no ambiguous retry happened"
    assert_written_once(
        results,
        [m["email_address"] for m in all_members(server)],
        [r.email_address for r in records] + [f"c{i}@jde-test.org" for i in range(30)],
    )
    assert sorted(int(c["id"]) for c in all_customers(server)) == list(range(30))
    assert {r.outcome for r in bought} == {
        "created"
    }  # looked up before writing: a replayed PUT cannot mislead


def test_the_cap_holds_with_many_threads_and_clients(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory, max_connections=10, latency_ms=20)
    clients = [client_for(server, max_connections=8) for _ in range(3)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            batch = members(200, prefix=f"t{n}-")
            results = upsert_members(clients[n % 3], LIST_ID, batch, chunk_size=10)
            assert {r.outcome for r in results} == {"created"}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seen = stats(server)
    assert 1 < seen["max_concurrent"] <= 8
    assert seen["throttled"] == 0
    assert clients[0].cap.peak <= 8
    assert len(all_members(server)) == 1200


def test_the_recorder_never_sees_the_key(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory)
    events: list[HttpEvent] = []
    client = client_for(server, recorder=events.append)
    client.ping()
    ensure_merge_fields(client, LIST_ID)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=0.2)
    upsert_members(client, LIST_ID, [*members(30), MemberWrite("x", "fake@example.com", "subscribed", {})])
    upsert_customers(client, STORE_ID, customers(200), batch_threshold=10, poll=QUICK_POLL)
    faults(server, fault_rate=0.0)
    wrong = client_for(server, recorder=events.append)
    wrong.session.auth = ("x", API_KEY[:-4] + "beef-us7")
    texts = []
    with pytest.raises(Exception) as caught:
        wrong.ping()
    texts.append(str(caught.value))
    dumped = json.dumps([dataclasses.asdict(e) for e in events], default=str)
    assert len(events) > 10
    assert {"/ping", "/batches"} <= {e.path for e in events}
    assert any(e.status == 401 for e in events)
    secret = API_KEY.split("-")[0]
    for text in [dumped, *texts]:
        assert secret not in text
        assert "Authorization" not in text and "Basic " not in text
    put = next(e for e in events if e.target == "list_member" and e.record_keys)
    assert put.request_body["members"] and put.attempt >= 1 and put.elapsed_s >= 0
    assert "0" in put.record_keys


def test_a_call_that_never_succeeds_yields_one_failed_result_per_record(
    mailchimp_emulator_factory: Any,
) -> None:
    server = start(mailchimp_emulator_factory, fault_kinds=("503",))
    quick = RetryPolicy(max_attempts=3, max_total_s=10.0, base_wait_s=0.01, max_wait_s=0.05)
    client = client_for(server, retry=quick)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    faults(server, fault_rate=1.0)
    people = upsert_members(client, LIST_ID, members(700))
    direct = upsert_customers(client, STORE_ID, customers(5))
    batched = upsert_customers(client, STORE_ID, customers(300), batch_threshold=10, poll=QUICK_POLL)
    faults(server, fault_rate=0.0)
    for results, expected in ((people, 700), (direct, 5), (batched, 300)):
        assert len(results) == expected
        assert {r.outcome for r in results} == {"failed"}
        assert all(r.status_code == 503 and r.detail for r in results), results[0]
    assert [r.key for r in people] == [str(i) for i in range(700)]
    assert all(r.attempts == 3 for r in people + direct)
    assert "customers of store" in batched[0].detail  # the look before writing failed: nothing was sent
    assert all_members(server) == []

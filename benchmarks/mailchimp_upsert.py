"""Upsert N members and N e-commerce customers into the Mailchimp emulator (started in this process), at
0 ms and at 100 ms of latency, with the emulator's 10-connection limit on; compare with the naive loop a
user would otherwise write (one PUT per record with the official `mailchimp-marketing` client, 10
threads), measured on a bounded sample and extrapolated to N (the output says so).

The physical floor for members is ceil(N / 500) batch-subscribe calls spread over 10 connections, each
costing the latency: no client that respects Mailchimp's limits can do fewer round trips.

Usage: .venv/bin/python benchmarks/mailchimp_upsert.py [--records 100000] [--sample 2000]
       [--latencies 0,100] [--cap 10]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mailchimp_marketing
import requests
from mailchimp_marketing.api_client import ApiClientError

from jde_mc_pipeline.mailchimp.batches import PollPolicy
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.emulator.server import build_server
from jde_mc_pipeline.mailchimp.members import TRIMMED_FIELDS, subscribe_entry, subscriber_hash, upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite

API_KEY = "0123456789abcdef0123456789abcdef-us7"
LIST_ID = "b3nchl1st0"
STORE_ID = "jde-e1"
LIMIT = 10


def member_records(n: int, prefix: str) -> list[MemberWrite]:
    return [
        MemberWrite(
            str(i),
            f"{prefix}{i}@jde-bench.org",
            "subscribed",
            {
                "FNAME": "Ann",
                "LNAME": f"Lee{i}",
                "COMPANY": "Acme",
                "JDEAN8": str(i),
                "PHONE": "312 555 0100",
                "ADDRESS": {
                    "addr1": f"{i} Main St",
                    "city": "Chicago",
                    "state": "IL",
                    "zip": "60601",
                    "country": "US",
                },
            },
            ("JDE Customer",),
        )
        for i in range(n)
    ]


def customer_records(n: int, prefix: str, first_id: int = 0) -> list[CustomerWrite]:
    return [
        CustomerWrite(
            str(i),
            str(i),
            f"{prefix}{i}@jde-bench.org",
            False,
            company="Acme",
            first_name="Ann",
            last_name=f"Lee{i}",
            address={
                "address1": f"{i} Main St",
                "city": "Chicago",
                "province_code": "IL",
                "postal_code": "60601",
                "country_code": "US",
            },
        )
        for i in range(first_id, first_id + n)
    ]


def start_emulator(latency_ms: float) -> Any:
    return build_server(
        port=0, api_key=API_KEY, list_id=LIST_ID, latency_ms=latency_ms, max_connections=LIMIT, seed=1
    ).start()


def ours(url: str, latency_ms: float, n: int, cap: int) -> dict[str, Any]:
    client = MailchimpClient(API_KEY, api_url=f"{url}/{{dc}}/3.0", max_connections=cap)
    ensure_merge_fields(client, LIST_ID)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1", "USD")
    people, buyers = member_records(n, "m"), customer_records(n, "c")  # the sync's input, built before timing
    gc.collect()  # do not charge the timed phases for garbage left by the previous ones
    before = client.stats.copy()
    started = time.perf_counter()
    results = upsert_members(client, LIST_ID, people)
    members_s = time.perf_counter() - started
    after_members = client.stats.copy()
    poll = PollPolicy(first_wait_s=0.5, factor=1.5, max_wait_s=2.0)  # polls cost ~1 ms each on the emulator
    gc.collect()
    started = time.perf_counter()
    bought = upsert_customers(client, STORE_ID, buyers, poll=poll)
    customers_s = time.perf_counter() - started
    after = client.stats.copy()
    client.close()
    return {
        "members_s": members_s,
        "members_requests": after_members["requests"] - before["requests"],
        "members_429": after_members["status_429"] - before["status_429"],
        "members_outcomes": _count(r.outcome for r in results),
        "customers_s": customers_s,
        "customers_requests": after["requests"] - after_members["requests"],
        "customers_429": after["status_429"] - after_members["status_429"],
        "customers_outcomes": _count(r.outcome for r in bought),
    }


def emulator_alone(n: int) -> float:
    """The emulator's own processing time for the same batch-subscribe calls, sent one at a time by a bare
    session with pre-encoded bodies at 0 ms: the part of the wall time no client can remove in-process."""
    server = start_emulator(0)
    try:
        client = MailchimpClient(API_KEY, api_url=f"{server.url}/{{dc}}/3.0")
        ensure_merge_fields(client, LIST_ID)
        bodies = [
            json.dumps({"members": [subscribe_entry(r) for r in chunk], "update_existing": True}).encode()
            for chunk in (member_records(n, "solo")[i : i + 500] for i in range(0, n, 500))
        ]
        session = requests.Session()
        session.auth = ("bench", API_KEY)
        url = f"{server.url}/us7/3.0/lists/{LIST_ID}"
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        for body in bodies:
            session.post(url, data=body, headers=headers, params={"fields": TRIMMED_FIELDS}, timeout=60)
        return time.perf_counter() - started
    finally:
        server.stop()


def naive(url: str, sample: int) -> dict[str, Any]:
    """One PUT per record with the official client, 10 threads: the loop a user would write."""
    official = mailchimp_marketing.Client()
    official.set_config({"api_key": API_KEY, "server": "us7"})
    official.api_client.host = f"{url}/server/3.0"  # the SDK swaps "server" for the data center
    errors = {"members": 0, "customers": 0}

    def put_member(record: MemberWrite) -> None:
        body = {
            "email_address": record.email_address,
            "status_if_new": record.status_if_new,
            "merge_fields": record.merge_fields,
        }
        try:
            official.lists.set_list_member(LIST_ID, subscriber_hash(record.email_address), body)
        except ApiClientError:
            errors["members"] += 1

    def put_customer(record: CustomerWrite) -> None:
        body = {
            "id": record.customer_id,
            "email_address": record.email_address,
            "opt_in_status": False,
            "company": record.company,
            "first_name": record.first_name,
            "last_name": record.last_name,
            "address": record.address,
        }
        try:
            official.ecommerce.set_store_customer(STORE_ID, record.customer_id, body)
        except ApiClientError:
            errors["customers"] += 1

    timings = {}
    with ThreadPoolExecutor(max_workers=LIMIT) as pool:
        for name, func, records in (
            ("members", put_member, member_records(sample, "naive-m")),
            ("customers", put_customer, customer_records(sample, "naive-c", first_id=10_000_000)),
        ):
            started = time.perf_counter()
            list(pool.map(func, records))
            timings[name] = time.perf_counter() - started
    return {"members_s": timings["members"], "customers_s": timings["customers"], "errors": errors}


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--latencies", default="0,100")
    parser.add_argument("--cap", type=int, default=LIMIT, help="the client's connection cap (≤ 10)")
    args = parser.parse_args()
    n, sample = args.records, args.sample
    print(
        f"Mailchimp upsert benchmark: {n:,} members + {n:,} customers; emulator limit {LIMIT} connections, "
        f"client cap {args.cap}; naive loop measured on {sample:,} records and extrapolated to {n:,}"
    )
    alone = emulator_alone(n)
    print(
        f"emulator alone: {alone:.2f} s to process the {math.ceil(n / 500)} batch-subscribe calls sent one "
        "at a time (0 ms; in-process, this CPU is shared with the client under one GIL)"
    )
    for latency in (float(x) for x in args.latencies.split(",")):
        server = start_emulator(latency)
        try:
            url = server.url
            mine = ours(url, latency, n, args.cap)
            plain = naive(url, sample)
        finally:
            server.stop()
        floor = math.ceil(n / 500) / LIMIT * latency / 1000
        naive_members = plain["members_s"] * n / sample
        naive_customers = plain["customers_s"] * n / sample
        print(f"\n--- latency {latency:.0f} ms ---")
        print(
            f"members   ours : {mine['members_s']:8.2f} s  requests {mine['members_requests']:6d}  "
            f"429s {mine['members_429']:4d}  outcomes {mine['members_outcomes']}"
        )
        ratio = f"{mine['members_s'] / floor:.2f}x" if floor else "n/a (floor is 0 s at 0 ms)"
        print(
            f"members   floor: {floor:8.2f} s  (ceil({n}/500) calls / {LIMIT} connections x {latency:.0f} ms)"
            f"  ours/floor = {ratio}"
        )
        print(
            f"customers ours : {mine['customers_s']:8.2f} s  requests {mine['customers_requests']:6d}  "
            f"429s {mine['customers_429']:4d}  outcomes {mine['customers_outcomes']}"
        )
        print(
            f"naive members  : {plain['members_s']:8.2f} s for {sample:,} -> {naive_members:8.1f} s "
            f"extrapolated to {n:,}  (speed-up {naive_members / mine['members_s']:.1f}x)"
        )
        print(
            f"naive customers: {plain['customers_s']:8.2f} s for {sample:,} -> {naive_customers:8.1f} s "
            f"extrapolated to {n:,}  (speed-up {naive_customers / mine['customers_s']:.1f}x)  "
            f"naive errors {plain['errors']}"
        )


if __name__ == "__main__":
    main()

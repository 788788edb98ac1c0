"""Upsert N members and N e-commerce customers into the Mailchimp emulator at 0 ms and at 100 ms of
latency, with the emulator's 10-connection limit on; compare with the naive loop a user would otherwise
write (one PUT per record with the official `mailchimp-marketing` client, 10 threads), measured on a
bounded sample and extrapolated linearly to N (the output says so).

The emulator runs as `jde-mc emulate mailchimp` in a child process (its own interpreter, as in
production; the URL comes from its ready line), so client and server do not share one GIL. Per phase the
script prints wall time, requests made and 429s received (client side), the emulator's own count of 429s
sent (`GET /_emulator/stats`), and the CPU seconds each process spent (the emulator's from /proc), which
tells how much of the wall time is CPU on a machine shared with other jobs. For the customers it also
prints the size and download time of the `/batches` results archives (what a batched write's answer
costs: docs/mailchimp.md, Batch operations).

The physical floor for members is ceil(N / 500) batch-subscribe calls spread over 10 connections, each
costing the latency: no client that respects Mailchimp's limits can do fewer round trips. Customers go
through `/batches` (see jde_mc_pipeline/mailchimp/ecommerce.py); the emulator's batch stages last
`batch_step_seconds` (0.25 s, its default), so the benchmark polls from 0.25 s up to 1 s instead of the
production policy (2 s up to 30 s, for real batches that take minutes).

Usage: .venv/bin/python benchmarks/mailchimp_upsert.py [--records 100000] [--sample 2000]
       [--latencies 0,100] [--cap 10]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from naive_peer import NaivePeer

from jde_mc_pipeline.emulators.mailchimp.server import DEFAULT_BATCH_STEP_SECONDS as BATCH_STEP_S
from jde_mc_pipeline.mailchimp.batches import PollPolicy
from jde_mc_pipeline.mailchimp.client import HttpEvent, MailchimpClient
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.members import subscriber_hash, upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite

API_KEY = "0123456789abcdef0123456789abcdef-us7"
LIST_ID = "b3nchl1st0"
STORE_ID = "jde-e1"
LIMIT = 10
POLL = PollPolicy(first_wait_s=0.25, factor=1.5, max_wait_s=1.0)  # scaled like the emulator's batch steps


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


@contextmanager
def emulator(latency_ms: float, state: str | None = None) -> Iterator[Emulator]:
    """`jde-mc emulate mailchimp` in a child process (its own interpreter, as in production), stopped with
    Ctrl-C on the way out; the URL comes from its ready line. With `state`, it starts from that file and
    saves to it when stopped (drift.py reuses a loaded audience), which may take a while."""
    command = [
        sys.executable, "-m", "jde_mc_pipeline.cli", "emulate", "mailchimp", "--port", "0",
        "--api-key", API_KEY, "--list-id", LIST_ID, "--latency-ms", str(latency_ms),
        "--max-connections", str(LIMIT), "--seed", "1", *(["--state", state] if state else []),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        found = re.search(r"MAILCHIMP_API_URL=(http://\S+)/\{dc\}/3\.0", line)
        if found is None:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield Emulator(found.group(1), process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=600 if state else 30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class Emulator:
    url: str
    pid: int

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_emulator/stats", timeout=30).json()

    def cpu_s(self) -> float:
        """User + system CPU seconds the emulator process has used (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """Wall time, client-side counts and the emulator's view (stats and CPU) of one timed phase."""

    seconds: float = 0.0
    requests: int = 0
    client_429: int = 0
    emulator_requests: int = 0
    emulator_429: int = 0
    max_concurrent: int = 0
    emulator_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    client_gc_s: float = 0.0
    archive_bytes: int = 0
    archive_s: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)


class ArchiveMeter:
    """Bytes and seconds of the `/batches` results archives the client downloaded (a client recorder):
    what the answers of the customers' batched PUTs cost to bring back."""

    def __init__(self) -> None:
        self.bytes = 0
        self.seconds = 0.0

    def __call__(self, event: HttpEvent) -> None:
        body = event.response_body
        if isinstance(body, dict) and "archive_bytes" in body and event.status == 200:
            self.bytes += int(body["archive_bytes"])
            self.seconds += event.elapsed_s


class GcClock:
    """Seconds this process spent in garbage collections (a `gc.callbacks` hook)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


GC_CLOCK = GcClock()
gc.callbacks.append(GC_CLOCK)


@contextmanager
def measured(
    server: Emulator, client: MailchimpClient | None, phase: Phase, meter: ArchiveMeter | None = None
) -> Iterator[None]:
    gc.collect()  # do not charge the timed phase for garbage left by earlier ones
    stats, cpu = server.stats(), server.cpu_s()
    counts = client.stats.copy() if client else Counter()
    archive = (meter.bytes, meter.seconds) if meter else (0, 0.0)
    started, cpu_here, gc_here = time.perf_counter(), time.process_time(), GC_CLOCK.seconds
    yield
    phase.seconds = time.perf_counter() - started
    phase.client_cpu_s = time.process_time() - cpu_here
    phase.client_gc_s = GC_CLOCK.seconds - gc_here
    phase.emulator_cpu_s = server.cpu_s() - cpu
    after = server.stats()
    phase.emulator_requests = after["total_requests"] - stats["total_requests"]
    phase.emulator_429 = after["throttled"] - stats["throttled"]
    phase.max_concurrent = after["max_concurrent"]
    if meter:
        phase.archive_bytes = meter.bytes - archive[0]
        phase.archive_s = meter.seconds - archive[1]
    if client:
        phase.requests = client.stats["requests"] - counts["requests"]
        phase.client_429 = client.stats["status_429"] - counts["status_429"]


def ours(server: Emulator, n: int, cap: int) -> tuple[Phase, Phase]:
    meter = ArchiveMeter()
    client = MailchimpClient(API_KEY, api_url=f"{server.url}/{{dc}}/3.0", max_connections=cap, recorder=meter)
    ensure_merge_fields(client, LIST_ID)
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1", "USD")
    people, buyers = member_records(n, "m"), customer_records(n, "c")  # the sync's input, built before timing
    members, customers = Phase(), Phase()
    with measured(server, client, members):
        results = upsert_members(client, LIST_ID, people)
    members.outcomes = dict(Counter(r.outcome for r in results))
    with measured(server, client, customers, meter):
        bought = upsert_customers(client, STORE_ID, buyers, poll=POLL)
    customers.outcomes = dict(Counter(r.outcome for r in bought))
    client.close()
    return members, customers


def naive(server: Emulator, sample: int) -> tuple[Phase, Phase]:
    """One PUT per record with the official client, 10 threads: the loop a user would write
    (naive_peer.py)."""
    people = [(subscriber_hash(r.email_address), r) for r in member_records(sample, "naive-m")]
    buyers = [(r.customer_id, r) for r in customer_records(sample, "naive-c", first_id=10_000_000)]
    members, customers = Phase(), Phase()
    with NaivePeer(server.url, API_KEY, threads=LIMIT) as peer:
        for name, phase, put in (
            ("members", members, lambda: peer.put_members(LIST_ID, people)),
            ("customers", customers, lambda: peer.put_customers(STORE_ID, buyers)),
        ):
            with measured(server, None, phase):
                put()
            phase.requests = phase.emulator_requests  # the SDK keeps no count: the emulator's
            phase.client_429 = peer.outcomes[name]["HTTP 429"]
            phase.outcomes = dict(peer.outcomes[name])
    return members, customers


def describe(phase: Phase) -> str:
    archive = (
        f"  results archives {phase.archive_bytes / 1e6:.2f} MB downloaded in {phase.archive_s:.2f} s"
        if phase.archive_bytes
        else ""
    )
    return (
        f"{phase.seconds:8.2f} s  requests {phase.requests:6d}  429s {phase.client_429:4d} "
        f"(emulator sent {phase.emulator_429})  CPU: emulator {phase.emulator_cpu_s:5.2f} s, "
        f"client {phase.client_cpu_s:5.2f} s (of which GC {phase.client_gc_s:4.2f} s)  "
        f"outcomes {phase.outcomes}{archive}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--latencies", default="0,100")
    parser.add_argument("--cap", type=int, default=LIMIT, help="the client's connection cap (<= 10)")
    args = parser.parse_args()
    n, sample = args.records, args.sample
    print(
        f"Mailchimp upsert benchmark: {n:,} members + {n:,} customers; emulator in a child process "
        f"(`jde-mc emulate mailchimp`, limit {LIMIT} connections, /batches step {BATCH_STEP_S} s), "
        f"client cap {args.cap}; naive loop measured on {sample:,} records and EXTRAPOLATED"
        f" linearly to {n:,}.\n"
        f"Machine: {os.cpu_count()} cores shared with other jobs (load average at start "
        f"{os.getloadavg()[0]:.2f}): wall times include their interference."
    )
    began = time.perf_counter()
    for latency in (float(x) for x in args.latencies.split(",")):
        with emulator(latency) as server:
            members, customers = ours(server, n, args.cap)
            naive_members, naive_customers = naive(server, sample)
            peak = server.stats()["max_concurrent"]
        floor = math.ceil(n / 500) / LIMIT * latency / 1000
        print(
            f"\n--- latency {latency:.0f} ms (most simultaneous requests seen by the emulator: {peak}; "
            f"load average now {os.getloadavg()[0]:.2f}) ---"
        )
        print(f"members   ours : {describe(members)}")
        ratio = (
            f"{members.seconds / floor:.2f}x ({'meets' if members.seconds <= 2 * floor else 'MISSES'} "
            "the 2x target)"
            if floor
            else "n/a (the floor is 0 s at 0 ms)"
        )
        print(
            f"members   floor: {floor:8.2f} s  (ceil({n}/500) calls / {LIMIT} connections x {latency:.0f} ms)"
            f"  ours/floor = {ratio}"
        )
        print(f"customers ours : {describe(customers)}")
        for what, phase, mine in (
            ("members", naive_members, members),
            ("customers", naive_customers, customers),
        ):
            extrapolated = phase.seconds * n / sample
            speedup = extrapolated / mine.seconds
            verdict = (
                "" if what == "members" else f", {'meets' if speedup >= 20 else 'MISSES'} the 20x target"
            )
            print(
                f"naive {what:9s}: {describe(phase)}\n"
                f"    measured on {sample:,}, extrapolated x{n / sample:g} -> {extrapolated:8.1f} s for {n:,}"
                f"  (ours is {speedup:.1f}x faster{verdict})"
            )

    print(f"\nwhole run: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

"""The drift report (jde_mc_pipeline/sync/drift.py) over an audience of N members and a store of N
customers: its first run, a daily run after 1,000 marketer changes without deletions, and one after
1,000 changes that include permanent deletions and deleted customers (which call for the id-only reads).

Setup (not timed): the Mailchimp emulator (`jde-mc emulate mailchimp`, a child process) is loaded with N
members and N customers through the connector's own writers, every write recorded in a DuckDB audit file
as a sync records it (`mailchimp_writes`, `sync_outcomes`, the synced state). The emulator is then
restarted from its saved state (`--state`) with `--latency-ms`, so that its stats (requests, most
simultaneous connections) count the drift runs alone. The marketer's changes are made through the
emulator's control endpoints, outside the timing.

Per drift run it prints the wall time, the requests the client made (and the emulator counted), the most
simultaneous connections the emulator saw, the members read, the full reads made and the findings.

Usage: .venv/bin/python benchmarks/drift.py [--members 100000] [--latency-ms 0] [--changes 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import requests
from mailchimp_upsert import (
    API_KEY,
    LIST_ID,
    POLL,
    STORE_ID,
    customer_records,
    emulator,
    member_records,
)

from jde_mc_pipeline.audit.drift import DRIFT_JOB, last_mark, record_findings
from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED, AuditStore
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.members import upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.sync.drift import find_drift
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.writes import record_payload

SETTINGS = SyncSettings(list_id=LIST_ID, mapping=MappingOptions(store_id=STORE_ID))


def load(url: str, store: AuditStore, n: int) -> None:
    """N members and N customers written and recorded as a sync would."""
    run_id = "load"
    store.start_run(run_id, "jde_to_mailchimp_sync")
    with AuditRecorder(store, run_id) as recorder, _client(url, recorder) as client:
        ensure_merge_fields(client, LIST_ID)
        ensure_store(client, STORE_ID, LIST_ID, SETTINGS.mapping.store_name, "USD")
        members = member_records(n, "m")
        member_results = upsert_members(client, LIST_ID, members)
        customers = customer_records(n, "m")
        customer_results = upsert_customers(client, STORE_ID, customers, poll=POLL)
    rows = [
        {
            "an8": i,
            "target": result.target,
            "target_key": result.target_key,
            "outcome": result.outcome,
            "reason": None,
            "payload_hash": f"h{i}",
            "payload": record_payload(record),
        }
        for records, results in ((members, member_results), (customers, customer_results))
        for i, (record, result) in enumerate(zip(records, results, strict=True))
    ]
    outcomes = pd.DataFrame(rows)
    store.record_outcomes(run_id, None, outcomes)
    DuckDBSyncedState(store).record_outcomes(outcomes, run_id=run_id)
    store.finish_run(run_id, RUN_SUCCEEDED, store.run_counts(run_id))
    print(f"loaded {n:,} members and {n:,} customers: {store.run_counts(run_id)}")


def marketer(url: str, n: int, changes: int, deletions: int, seed: int) -> None:
    """`changes` hand-made changes to distinct members, `deletions` of them permanent deletes (and as many
    customers deleted); not timed."""
    pick = random.Random(seed).sample(range(n), changes)
    base = f"{url}/_emulator/lists/{LIST_ID}/members"
    session = requests.Session()
    for k, i in enumerate(pick):
        member = f"{base}/{_hash(f'm{i}@jde-bench.org')}"
        if k < deletions:
            session.post(f"{member}/delete-permanent", timeout=30).raise_for_status()
            customer = str((i + 1) % n)  # the benchmark's customer ids are the numbers
            session.delete(f"{url}/_emulator/ecommerce/stores/{STORE_ID}/customers/{customer}", timeout=30)
        elif k % 10 == 0:
            session.post(f"{member}/unsubscribe", timeout=30).raise_for_status()
        elif k % 10 == 1:
            body = {"tags": [{"name": "JDE Customer", "status": "inactive"}]}
            session.post(f"{member}/tags", json=body, timeout=30).raise_for_status()
        else:
            session.patch(
                member, json={"merge_fields": {"COMPANY": f"Edited {k}"}}, timeout=30
            ).raise_for_status()


def drift_run(url: str, store: AuditStore, name: str) -> None:
    time.sleep(1.1)  # Mailchimp's last_changed has whole seconds
    previous = last_mark(store)
    watermark = datetime.now(UTC)
    run_id = f"drift-{name}"
    store.start_run(run_id, DRIFT_JOB, window=(previous.watermark, watermark))
    began = time.perf_counter()
    with _client(url, None) as client:
        report = find_drift(client, store, SETTINGS, previous, watermark)
        requests_made = int(client.stats.get("requests", 0))
    seconds = time.perf_counter() - began
    recorded = record_findings(store, run_id, report.findings)
    store.finish_run(run_id, RUN_SUCCEEDED, {**report.counts(), **report.mark.counts})
    after = requests.get(f"{url}/_emulator/stats", timeout=30).json()
    counted = after["total_requests"]
    found = {k: v for k, v in report.counts().items() if v}
    print(
        f"{name:<28} {seconds:7.2f} s  {requests_made:5,} requests (emulator: {counted:,}), "
        f"max {after['max_concurrent']} simultaneous, {report.members_read:7,} members read, "
        f"full reads {report.scans or '-'}, {recorded:,} findings {found}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--deletions", type=int, default=10)
    arguments = parser.parse_args()
    n = arguments.members
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as folder:
        state = str(Path(folder) / "mailchimp.json")
        store = AuditStore(Path(folder) / "audit_trail.duckdb")
        began = time.perf_counter()
        with emulator(0, state) as loading:
            load(loading.url, store, n)
        print(
            f"setup: {time.perf_counter() - began:.0f} s; drift runs at {arguments.latency_ms:g} ms latency"
        )
        # each run on an emulator restarted from the saved state: its stats are the run's alone
        phases = [
            ("first run (whole audience)", 0, 0),
            (f"daily, {arguments.changes:,} changed", arguments.changes, 0),
            ("daily, nothing changed", 0, 0),
            (
                f"daily, {arguments.changes:,} incl. {arguments.deletions} deleted",
                arguments.changes,
                arguments.deletions,
            ),
        ]
        for seed, (name, changes, deletions) in enumerate(phases):
            with emulator(arguments.latency_ms, state) as mc:
                if changes:
                    marketer(mc.url, n, changes, deletions, seed=seed)
                drift_run(mc.url, store, name)


def _client(url: str, recorder) -> MailchimpClient:
    return MailchimpClient(API_KEY, api_url=f"{url}/{{dc}}/3.0", max_connections=10, recorder=recorder)


def _hash(email: str) -> str:
    return hashlib.md5(email.encode()).hexdigest()


if __name__ == "__main__":
    main()

"""Benchmark: the initial load as a user runs it, through Dagster, with both emulators in their own processes.

Usage: .venv/bin/python benchmarks/end_to_end.py [--parties 100000] [--latency-ms 100]
       [--ais-latency-ms 0] [--read-sessions 1,2,4,8] [--span both|range|first]
       [--executor in_process|multiprocess] [--audit duckdb|postgresql] [--naive-peer] [--json]

What it measures: `jde-mc emulate jde --demo N [--latency-ms A]` and `jde-mc emulate mailchimp
--latency-ms L` (its limit of 10 simultaneous connections), then, in its own process with a fresh
DAGSTER_HOME holding the project's dagster.yaml, what users run by default: `dagster asset materialize
--select '*' --partition-range <JDE_START_DATE 30 days ago>...<today>` (one run over 31 partitions, as
the sensor's first tick and the README's example make it), and beside it the first partition alone
(`--partition <yesterday>` with JDE_START_DATE yesterday: the same parties, one partition). Printed per
run: wall time; per step its time from the event log (STEP_START to STEP_SUCCESS), the time it waited on
AIS and Mailchimp (the clients' timers, wait_clock.py, in the step's metadata) and what is left, the
step's own time; what is left for Dagster itself (process start, imports, step launches, the range's
per-partition events); AIS calls and Mailchimp requests (the emulators' stats); the peak resident memory
of the run (its process and every step process, summed, sampled every 0.2 s), overall and per step; and
each Mailchimp step's ratio to its physical floor (requests ÷ 10 connections × latency). `--read-sessions
1,2,4,8`: one range run per value of JDE_MC_AIS_READ_SESSIONS. `--json`: the summaries on the last line.

`--audit postgresql`: the audit on a PostgreSQL server the script starts (jde_mc_pipeline_tests/postgres.py,
its schema created by `jde-mc audit upgrade`, then `JDE_MC_AUDIT_URL`) instead of the DuckDB file. The
server's own memory is not in the run's peak, as it would not be on a deployment's run machine; it is
printed apart (the postgres processes' resident memory at the end of the run).

`--naive-peer`: then, on the same data and latency, the loop a user would otherwise write (naive_peer.py):
the members and customers the run wrote (outcome created, updated or renamed; their records rebuilt
from the payloads in the run's `sync_outcomes`) PUT one by one with the official `mailchimp-marketing`
client and 10 threads, against a fresh `jde-mc emulate mailchimp` process with the same latency and
connection limit, after creating the 2 merge fields and the store our sync created there (one POST
each). Measured in full, never extrapolated. Printed side by side (and under `naive_peer` in the JSON):
our whole run's wall time and Mailchimp requests against the naive peer's write time alone (a lower
bound of its whole run: it would also have to read JDE and map) and requests (the emulator's count),
the ratios naive ÷ ours, the non-2xx answers of each (e.g. 429 from the connection limit), and the
members and customers each left in Mailchimp.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import requests
from naive_peer import NaivePeer
from processes import tree_rss

from jde_mc_pipeline.mailchimp.merge_fields import DEFAULT_MERGE_FIELDS
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.outcomes import SUCCESSFUL
from jde_mc_pipeline.sync.writes import record_from_payload
from jde_mc_pipeline_tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST_ID = "a1b2c3d4e5"
MAILCHIMP_STEPS = ("mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], url: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        try:
            requests.get(f"{url}/_emulator/stats", timeout=2)
            return process
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[1:3]} did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)


WAITS = ("run_waiting_on_ais_seconds", "run_waiting_on_mailchimp_seconds")
"""Metadata of the steps that call AIS or Mailchimp (defs/step_speed.py `Waits`)."""


def step_times(home: Path) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """STEP_START and STEP_SUCCESS times (epoch seconds) per step of the (only) run in this Dagster home,
    and per step the seconds it waited on AIS and Mailchimp (from its materializations' metadata)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        began: dict[str, float] = {}
        spans: dict[str, tuple[float, float]] = {}
        waited: dict[str, float] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                began[event.step_key] = record.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                spans[event.step_key] = (began[event.step_key], record.timestamp)
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                metadata = event.step_materialization_data.materialization.metadata
                if all(name in metadata for name in WAITS):
                    waited[event.step_key] = sum(float(metadata[name].value) for name in WAITS)
        return spans, waited


@dataclass
class Bench:
    """Both emulators in their own processes, a fresh Dagster home, and the settings that point at them."""

    jde: subprocess.Popen
    mailchimp: subprocess.Popen
    jde_url: str
    mailchimp_url: str
    settings: dict[str, str]

    @property
    def env(self) -> dict[str, str]:
        """This process's environment without any JDE, Mailchimp or Dagster setting, plus the bench's."""
        own = ("JDE_", "MAILCHIMP_", "DAGSTER_")
        return {**{k: v for k, v in os.environ.items() if not k.startswith(own)}, **self.settings}

    def stop(self) -> None:
        for process in (self.jde, self.mailchimp):
            process.terminate()
            process.wait(timeout=30)


def start_mailchimp(port: int, latency_ms: float, log: Path) -> subprocess.Popen:
    """`jde-mc emulate mailchimp --latency-ms L` on `port`, with its default key, audience and limit of
    10 simultaneous connections."""
    command = [
        str(BIN / "jde-mc"),
        "emulate",
        "mailchimp",
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    return start(command, f"http://127.0.0.1:{port}", log)


def start_bench(
    parties: int,
    latency_ms: float,
    workdir: Path,
    first: dt.date,
    *,
    ais_latency_ms: float = 0.0,
    read_sessions: int | None = None,
) -> Bench:
    """`jde-mc emulate jde --demo N [--latency-ms A]` and `jde-mc emulate mailchimp --latency-ms L`, and a
    Dagster home with the project's dagster.yaml; `first` is the first partition (JDE_START_DATE);
    `read_sessions`: JDE_MC_AIS_READ_SESSIONS (default: the setting's)."""
    jde_port, mailchimp_port = free_port(), free_port()
    jde_url, mailchimp_url = f"http://127.0.0.1:{jde_port}", f"http://127.0.0.1:{mailchimp_port}"
    jde_command = [str(BIN / "jde-mc"), "emulate", "jde", "--port", str(jde_port), "--demo", str(parties)]
    if ais_latency_ms:
        jde_command += ["--latency-ms", str(ais_latency_ms)]
    jde = start(jde_command, jde_url, workdir / "jde.log")
    mailchimp = start_mailchimp(mailchimp_port, latency_ms, workdir / "mailchimp.log")
    home = workdir / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    settings = {
        "DAGSTER_HOME": str(home),
        "JDE_AIS_URL": jde_url,
        "JDE_USERNAME": "JDE",
        "JDE_PASSWORD": "JDE",
        "JDE_ENVIRONMENT": "JDV920",
        "JDE_TIMEZONE": "UTC",
        "JDE_START_DATE": first.isoformat(),
        "MAILCHIMP_API_KEY": API_KEY,
        "MAILCHIMP_API_URL": f"{mailchimp_url}/{{dc}}/3.0",
        "MAILCHIMP_LIST_ID": LIST_ID,
        "JDE_MC_AUDIT_DB": str(workdir / "audit_trail.duckdb"),
        "JDE_MC_STAGING_DIR": str(workdir / "staging"),
    }
    if read_sessions is not None:
        settings["JDE_MC_AIS_READ_SESSIONS"] = str(read_sessions)
    return Bench(jde, mailchimp, jde_url, mailchimp_url, settings)


@dataclass(frozen=True)
class Load:
    """One initial load to measure: how many parties, the services' latencies, the AIS read sessions, and
    which partitions: `range` (every day from a 30-day-old JDE_START_DATE to today, as the sensor's first
    tick and the README's example run it) or `first` (JDE_START_DATE yesterday, its first partition)."""

    parties: int
    latency_ms: float = 100.0
    ais_latency_ms: float = 0.0
    read_sessions: int | None = None
    span: str = "range"
    executor: str | None = None

    @property
    def days(self) -> int:
        return 30 if self.span == "range" else 1


def run_end_to_end(
    load: Load, workdir: Path, naive_peer: bool = False, audit: str = "duckdb"
) -> dict[str, Any]:
    with ExitStack() as stack:
        audit_env = {}
        if audit == "postgresql":
            server = PostgresServer.start()
            stack.callback(server.stop)
            audit_env = {"JDE_MC_AUDIT_URL": server.create_database("end_to_end")}
            upgrade = [str(BIN / "jde-mc"), "audit", "upgrade"]
            subprocess.run(upgrade, env={**os.environ, **audit_env}, check=True, capture_output=True)
        summary = _run(load, workdir, naive_peer, audit_env)
        if audit == "postgresql":
            summary["postgres_rss_mib"] = round(tree_rss(server.postmaster_pid()) / 2**20)
        return summary | {"audit": audit}


def _run(load: Load, workdir: Path, naive_peer: bool, audit_env: dict[str, str]) -> dict[str, Any]:
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=load.days)
    latency_ms = load.latency_ms
    bench = start_bench(
        load.parties,
        latency_ms,
        workdir,
        first,
        ais_latency_ms=load.ais_latency_ms,
        read_sessions=load.read_sessions,
    )
    bench.settings.update(audit_env)
    home = Path(bench.settings["DAGSTER_HOME"])
    jde_url, mailchimp_url, env = bench.jde_url, bench.mailchimp_url, bench.env
    try:
        command = [str(BIN / "dagster"), "asset", "materialize", "-m", "jde_mc_pipeline.definitions"]
        if load.executor is not None:
            command += ["--config-json", json.dumps({"execution": {"config": {load.executor: {}}}})]
        partitions = (
            ["--partition-range", f"{first.isoformat()}...{today.isoformat()}"]
            if load.span == "range"
            else ["--partition", first.isoformat()]
        )
        began = time.perf_counter()
        run = subprocess.Popen(
            [*command, "--select", "*", *partitions],
            cwd=workdir,
            env=env,
            stdout=(workdir / "run.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        samples: list[tuple[float, int]] = []

        def sample() -> None:
            while run.poll() is None:
                samples.append((time.time(), tree_rss(run.pid)))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = run.wait()
        wall = time.perf_counter() - began
        sampler.join()
        if code != 0:
            raise RuntimeError(f"the run failed: {(workdir / 'run.log').read_text()[-3000:]}")
        jde_stats = requests.get(f"{jde_url}/_emulator/stats", timeout=10).json()
        mailchimp_stats = requests.get(f"{mailchimp_url}/_emulator/stats", timeout=10).json()
        ours_left = left_in_mailchimp(mailchimp_url) if naive_peer else None  # after the stats: not counted
    finally:
        bench.stop()
    spans, waited = step_times(home)
    steps = {step: end - start for step, (start, end) in spans.items()}
    by_route: dict[str, int] = {
        route: sum(codes.values()) for route, codes in mailchimp_stats.get("requests", {}).items()
    }
    ais_calls = sum(sum(codes.values()) for codes in jde_stats.get("requests", {}).values())
    floors = {
        step: sum(n for route, n in by_route.items() if any(part in route for part in parts))
        * latency_ms
        / 1000
        / 10
        for step, parts in (
            (MAILCHIMP_STEPS[0], ("/lists/",)),
            (MAILCHIMP_STEPS[1], ("/ecommerce/", "/batches")),
        )
    }
    summary = {
        "parties": load.parties,
        "span": f"{first.isoformat()}...{today.isoformat()}" if load.span == "range" else first.isoformat(),
        "ais_latency_ms": load.ais_latency_ms,
        "read_sessions": load.read_sessions or "default",
        "executor": load.executor or "the code location's",
        "floor_ratio": {
            step: round(steps.get(step, 0) / floor, 1) if floor else None for step, floor in floors.items()
        },
        "latency_ms": latency_ms,
        "wall_seconds": round(wall, 1),
        "step_seconds": {k: round(v, 1) for k, v in steps.items()},
        "own_seconds": {k: round(v - waited.get(k, 0.0), 1) for k, v in steps.items()},
        "waiting_seconds": {k: round(v, 1) for k, v in waited.items()},
        "dagster_overhead_seconds": round(wall - sum(steps.values()), 1),
        "ais_calls": ais_calls,
        "mailchimp_requests": int(mailchimp_stats.get("total_requests", 0)),
        "mailchimp_requests_by_route": by_route,
        "mailchimp_max_concurrent": mailchimp_stats.get("max_concurrent"),
        "peak_rss_mib": round(max((rss for _, rss in samples), default=0) / 2**20),
        "step_peak_rss_mib": {
            step: round(max((rss for at, rss in samples if start <= at <= end), default=0) / 2**20)
            for step, (start, end) in spans.items()
        },
    }
    if naive_peer:
        audit_db = Path(bench.settings["JDE_MC_AUDIT_DB"])
        naive = run_naive_peer(audit_db, latency_ms, workdir)
        naive["ours_left"] = ours_left
        naive["ours_non_2xx"] = non_2xx(mailchimp_stats)
        naive["time_ratio"] = round(naive["seconds"] / wall, 2)
        naive["request_ratio"] = round(naive["requests"] / max(summary["mailchimp_requests"], 1), 1)
        summary["naive_peer"] = naive
    return summary


def non_2xx(stats: dict[str, Any]) -> dict[str, int]:
    """Answers that were not 2xx, by status (0: connection reset), from an emulator's stats."""
    found: dict[str, int] = {}
    for codes in stats.get("requests", {}).values():
        for status, count in codes.items():
            if not 200 <= int(status) < 300:
                found[str(status)] = found.get(str(status), 0) + int(count)
    return found


def left_in_mailchimp(url: str, store_id: str = MappingOptions().store_id) -> dict[str, int]:
    """How many members the audience and customers the store hold (2 GETs)."""
    api, auth = f"{url}/{API_KEY.rpartition('-')[2]}/3.0", ("bench", API_KEY)
    counted = {}
    for what, path in (
        ("members", f"/lists/{LIST_ID}/members"),
        ("customers", f"/ecommerce/stores/{store_id}/customers"),
    ):
        answer = requests.get(
            f"{api}{path}", params={"count": 1, "fields": "total_items"}, auth=auth, timeout=60
        )
        counted[what] = int(answer.json().get("total_items", 0)) if answer.ok else 0
    return counted


@dataclass
class Written:
    """What the run wrote, from its audit: (target key, record) per member and per customer whose
    outcome is created, updated or renamed, rebuilt from the payloads in `sync_outcomes`."""

    members: list[tuple[str, MemberWrite]]
    customers: list[tuple[str, CustomerWrite]]
    renaming_or_retiring: int
    """How many of them also rename or retire (ours: PATCH / DELETE; the naive peer only PUTs)."""
    sent_not_written: dict[str, int]
    """Payloads ours sent that Mailchimp refused or that failed, by outcome: not sent by the naive peer."""


def written_records(audit_db: Path) -> Written:
    """The run's writes, from the audit DuckDB at `audit_db` (read only: the run has ended)."""
    with duckdb.connect(str(audit_db), read_only=True) as conn:
        rows = conn.execute(
            "SELECT target, target_key, payload FROM sync_outcomes WHERE outcome IN (SELECT unnest(?)) "
            "AND payload IS NOT NULL ORDER BY target, an8",
            [list(SUCCESSFUL)],
        ).fetchall()
        others = conn.execute(
            "SELECT outcome, count(*) FROM sync_outcomes WHERE outcome NOT IN (SELECT unnest(?)) "
            "AND payload IS NOT NULL GROUP BY outcome",
            [list(SUCCESSFUL)],
        ).fetchall()
    written = Written([], [], 0, {outcome: int(n) for outcome, n in others})
    for target, key, payload in rows:
        record = record_from_payload(target, json.loads(payload))
        if isinstance(record, MemberWrite):
            written.members.append((key, record))
        elif isinstance(record, CustomerWrite):
            written.customers.append((key, record))
        else:
            continue
        written.renaming_or_retiring += bool(record.previous_email or record.retires)
    return written


def run_naive_peer(audit_db: Path, latency_ms: float, workdir: Path) -> dict[str, Any]:
    """The naive peer writing what the run wrote, against a fresh emulator with the same latency and
    limit: the merge fields and the store our sync created (one POST each), then one PUT per member and
    per customer with the official client, 10 threads (naive_peer.py). Timed from the first request to
    the last answer."""
    written = written_records(audit_db)
    options = MappingOptions()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    emulator = start_mailchimp(port, latency_ms, workdir / "mailchimp_naive.log")
    try:
        with NaivePeer(url, API_KEY) as peer:
            began = time.perf_counter()
            peer.create_merge_fields(LIST_ID, [spec for spec in DEFAULT_MERGE_FIELDS if spec.create])
            peer.create_store(options.store_id, LIST_ID, options.store_name, options.currency_code)
            peer.put_members(LIST_ID, written.members)
            peer.put_customers(options.store_id, written.customers)
            seconds = time.perf_counter() - began
        stats = requests.get(f"{url}/_emulator/stats", timeout=10).json()
        left = left_in_mailchimp(url, options.store_id)
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    return {
        "members": len(written.members),
        "customers": len(written.customers),
        "renaming_or_retiring": written.renaming_or_retiring,
        "sent_not_written": written.sent_not_written,
        "seconds": round(seconds, 1),
        "requests": int(stats.get("total_requests", 0)),
        "requests_by_route": {
            route: sum(codes.values()) for route, codes in stats.get("requests", {}).items()
        },
        "outcomes": {what: dict(counts) for what, counts in peer.outcomes.items()},
        "failures": peer.failures(),
        "non_2xx": non_2xx(stats),
        "throttled": stats.get("throttled", 0),
        "max_concurrent": stats.get("max_concurrent"),
        "unknown_fields": stats.get("unknown_fields", {}),
        "left": left,
    }


def report(summary: dict[str, Any]) -> None:
    print(
        f"initial load of {summary['parties']:,} parties through Dagster over {summary['span']}, Mailchimp "
        f"at {summary['latency_ms']:g} ms, AIS at {summary['ais_latency_ms']:g} ms with "
        f"{summary['read_sessions']} read sessions, {summary['executor']} executor: "
        f"{summary['wall_seconds']:.1f} s, peak {summary['peak_rss_mib']:,} MiB"
    )
    print(f"  {'step':<48} {'time':>7} {'waiting':>9} {'own':>7} {'peak RSS':>10}")
    for step, seconds in summary["step_seconds"].items():
        waiting = summary["waiting_seconds"].get(step, 0.0)
        own, peak = summary["own_seconds"][step], summary["step_peak_rss_mib"].get(step, 0)
        print(f"  {step:<48} {seconds:>5.1f} s {waiting:>7.1f} s {own:>5.1f} s {peak:>6,} MiB")
    print(f"  {'Dagster (start, imports, launches)':<40} {summary['dagster_overhead_seconds']:>7.1f} s")
    print(f"AIS calls {summary['ais_calls']:,}; Mailchimp requests {summary['mailchimp_requests']:,}")
    print(f"most simultaneous Mailchimp connections {summary['mailchimp_max_concurrent']}")
    for step, ratio in summary["floor_ratio"].items():
        print(f"  {step}: {ratio}× its floor (its requests ÷ 10 connections × latency)")
    for route, count in sorted(summary["mailchimp_requests_by_route"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {count:>7,}  {route}")
    if "naive_peer" in summary:
        report_naive(summary)


def report_naive(summary: dict[str, Any]) -> None:
    naive = summary["naive_peer"]

    def answers(found: dict[str, int]) -> str:
        return f"{sum(found.values()):,}" + (
            f" ({', '.join(f'{k}×{n:,}' for k, n in sorted(found.items()))})" if found else ""
        )

    def left(counts: dict[str, int] | None) -> str:
        return f"{counts['members']:,} / {counts['customers']:,}" if counts else "?"

    ours_time, ours_requests = summary["wall_seconds"], summary["mailchimp_requests"]
    print(
        f"\nside by side, same data ({naive['members']:,} members and {naive['customers']:,} customers "
        f"the run wrote, payloads from its audit), Mailchimp at {summary['latency_ms']:g} ms, "
        "limit 10 connections"
    )
    rows = (
        ("", "ours: whole run", "naive peer: writes", "naive ÷ ours"),
        ("time", f"{ours_time:.1f} s", f"{naive['seconds']:.1f} s", f"{naive['time_ratio']:g}×"),
        (
            "Mailchimp requests",
            f"{ours_requests:,}",
            f"{naive['requests']:,}",
            f"{naive['request_ratio']:g}×",
        ),
        ("non-2xx answers", answers(naive["ours_non_2xx"]), answers(naive["non_2xx"]), ""),
        ("members / customers left", left(naive["ours_left"]), left(naive["left"]), ""),
    )
    for row in rows:
        print(f"  {row[0]:<26}{row[1]:>18}{row[2]:>22}{row[3]:>14}".rstrip())
    setup = sum(naive["outcomes"]["setup"].values())
    print(
        "  ours: the whole initial load through Dagster (extract, map, sync, Dagster itself).\n"
        f"  naive peer: its writes alone ({setup} POSTs for the merge fields and the store our sync created,"
        " then one PUT per\n  member and per customer with the official mailchimp-marketing client, 10"
        " threads, fresh emulator): a LOWER\n  BOUND of its whole run, which would also have to read JDE and"
        " map it. Both measured in full, not extrapolated."
    )
    if naive["failures"]:
        print(f"  naive failures seen by its client: {naive['failures']} (not retried)")
    if naive["renaming_or_retiring"]:
        print(
            f"  {naive['renaming_or_retiring']:,} written records also rename or retire (ours: PATCH / "
            "DELETE); the naive peer only PUTs them"
        )
    if naive["sent_not_written"]:
        print(
            f"  payloads ours sent that were refused or failed, not sent by the naive peer: "
            f"{naive['sent_not_written']}"
        )
    if any(naive["unknown_fields"].values()):
        print(f"  fields the emulator ignored in the naive peer's requests: {naive['unknown_fields']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=100, help="Mailchimp's, per request")
    parser.add_argument(
        "--ais-latency-ms", type=float, default=0, help="AIS's, per call (jde-mc emulate jde --latency-ms)"
    )
    parser.add_argument(
        "--read-sessions",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[None],
        help="JDE_MC_AIS_READ_SESSIONS, or a list (1,2,4,8): one range run each; default: the setting's",
    )
    parser.add_argument(
        "--span",
        choices=("range", "first", "both"),
        default="both",
        help="range: every day from a 30-day-old JDE_START_DATE to today (what users run); first: the "
        "first partition alone (JDE_START_DATE yesterday); both (default): the range, then the first",
    )
    parser.add_argument(
        "--executor", choices=("in_process", "multiprocess"), help="default: the definitions'"
    )
    parser.add_argument(
        "--naive-peer",
        action="store_true",
        help="then the naive peer (one PUT per member and per customer, official client, 10 threads) "
        "writing the same records as the (first) range run, to a fresh emulator",
    )
    parser.add_argument("--audit", choices=("duckdb", "postgresql"), default="duckdb")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.naive_peer and args.audit != "duckdb":
        parser.error("--naive-peer reads the run's writes from the DuckDB audit: use it with --audit duckdb")
    spans = ("range", "first") if args.span == "both" else (args.span,)
    loads = [
        Load(args.parties, args.latency_ms, args.ais_latency_ms, sessions, span, args.executor)
        for span in spans
        for sessions in (args.read_sessions if span == "range" else args.read_sessions[:1])
    ]
    summaries = []
    for number, load in enumerate(loads):
        with tempfile.TemporaryDirectory() as folder:
            naive = args.naive_peer and number == 0
            summaries.append(run_end_to_end(load, Path(folder), naive, args.audit))
        report(summaries[-1])
        print()
    if len(summaries) > 1:
        report_side_by_side(summaries)
    if args.json:
        print(json.dumps(summaries if len(summaries) > 1 else summaries[0]))
    return 0


def report_side_by_side(summaries: list[dict[str, Any]]) -> None:
    """One line per run: partitions, AIS latency and sessions, wall time, peak, and each step's own time."""
    print("side by side (own: the step's time less its waits on AIS and Mailchimp)")
    for summary in summaries:
        own = ", ".join(
            f"{step.removeprefix('mailchimp_')} {seconds:.1f}"
            for step, seconds in summary["own_seconds"].items()
            if seconds >= 0.05 and not step.endswith("_reconciliation")
        )
        print(
            f"  {summary['span']:<24} AIS {summary['ais_latency_ms']:g} ms, sessions "
            f"{summary['read_sessions']}: {summary['wall_seconds']:.1f} s, peak {summary['peak_rss_mib']:,} "
            f"MiB; own: {own}"
        )


if __name__ == "__main__":
    sys.exit(main())

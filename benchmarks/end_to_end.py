"""Benchmark: the initial load as a user runs it, through Dagster, with both emulators in their own processes.

Usage: .venv/bin/python benchmarks/end_to_end.py [--parties 100000] [--latency-ms 100]
       [--executor in_process|multiprocess] [--json]

What it measures: `jde-mc emulate jde --demo N` and `jde-mc emulate mailchimp --latency-ms L` (its limit
of 10 simultaneous connections), then `dagster asset materialize --select '*' --partition <first>` (the
first partition holds all history: the initial load) in its own process with a fresh DAGSTER_HOME holding
the project's dagster.yaml. Printed: wall time; per step its time from the event log (STEP_START to
STEP_SUCCESS) and what is left for Dagster itself (process start, imports, step launches, staging
between steps); AIS calls and Mailchimp requests (the emulators' stats); the peak resident memory of the
run (its process and every step process, summed, sampled every 0.2 s); and each Mailchimp step's ratio
to its physical floor (requests ÷ 10 connections × latency). `--json`: the summary on the last line.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import requests
from processes import tree_rss

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


def step_seconds(home: Path) -> dict[str, float]:
    """STEP_START → STEP_SUCCESS per step of the (only) run in this Dagster home."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        began: dict[str, float] = {}
        took: dict[str, float] = {}
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                began[event.step_key] = record.timestamp
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                took[event.step_key] = record.timestamp - began[event.step_key]
        return took


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


def start_bench(parties: int, latency_ms: float, workdir: Path, first: dt.date) -> Bench:
    """`jde-mc emulate jde --demo N` and `jde-mc emulate mailchimp --latency-ms L`, and a Dagster home with
    the project's dagster.yaml; `first` is the first partition (JDE_START_DATE)."""
    jde_port, mailchimp_port = free_port(), free_port()
    jde_url, mailchimp_url = f"http://127.0.0.1:{jde_port}", f"http://127.0.0.1:{mailchimp_port}"
    emulate = [str(BIN / "jde-mc"), "emulate"]
    jde = start(
        [*emulate, "jde", "--port", str(jde_port), "--demo", str(parties)], jde_url, workdir / "jde.log"
    )
    mailchimp = start(
        [*emulate, "mailchimp", "--port", str(mailchimp_port), "--latency-ms", str(latency_ms)],
        mailchimp_url,
        workdir / "mailchimp.log",
    )
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
    return Bench(jde, mailchimp, jde_url, mailchimp_url, settings)


def run_end_to_end(parties: int, latency_ms: float, workdir: Path, executor: str | None) -> dict[str, Any]:
    first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    bench = start_bench(parties, latency_ms, workdir, first)
    home = Path(bench.settings["DAGSTER_HOME"])
    jde_url, mailchimp_url, env = bench.jde_url, bench.mailchimp_url, bench.env
    try:
        command = [str(BIN / "dagster"), "asset", "materialize", "-m", "jde_mc_pipeline.definitions"]
        if executor is not None:
            command += ["--config-json", json.dumps({"execution": {"config": {executor: {}}}})]
        began = time.perf_counter()
        run = subprocess.Popen(
            [*command, "--select", "*", "--partition", first.isoformat()],
            cwd=workdir,
            env=env,
            stdout=(workdir / "run.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        peak = [0]

        def sample() -> None:
            while run.poll() is None:
                peak[0] = max(peak[0], tree_rss(run.pid))
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
    finally:
        bench.stop()
    steps = step_seconds(home)
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
    return {
        "parties": parties,
        "executor": executor or "the code location's",
        "floor_ratio": {
            step: round(steps.get(step, 0) / floor, 1) if floor else None for step, floor in floors.items()
        },
        "latency_ms": latency_ms,
        "wall_seconds": round(wall, 1),
        "step_seconds": {k: round(v, 1) for k, v in steps.items()},
        "dagster_overhead_seconds": round(wall - sum(steps.values()), 1),
        "ais_calls": ais_calls,
        "mailchimp_requests": int(mailchimp_stats.get("total_requests", 0)),
        "mailchimp_requests_by_route": by_route,
        "mailchimp_max_concurrent": mailchimp_stats.get("max_concurrent"),
        "peak_rss_mib": round(peak[0] / 2**20),
    }


def report(summary: dict[str, Any]) -> None:
    print(
        f"initial load of {summary['parties']:,} parties through Dagster, Mailchimp at "
        f"{summary['latency_ms']:g} ms, {summary['executor']} executor: {summary['wall_seconds']:.1f} s, "
        f"peak {summary['peak_rss_mib']:,} MiB"
    )
    for step, seconds in summary["step_seconds"].items():
        print(f"  {step:<40} {seconds:>7.1f} s")
    print(f"  {'Dagster (start, imports, launches)':<40} {summary['dagster_overhead_seconds']:>7.1f} s")
    print(f"AIS calls {summary['ais_calls']:,}; Mailchimp requests {summary['mailchimp_requests']:,}")
    print(f"most simultaneous Mailchimp connections {summary['mailchimp_max_concurrent']}")
    for step, ratio in summary["floor_ratio"].items():
        print(f"  {step}: {ratio}× its floor (its requests ÷ 10 connections × latency)")
    for route, count in sorted(summary["mailchimp_requests_by_route"].items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {count:>7,}  {route}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument(
        "--executor", choices=("in_process", "multiprocess"), help="default: the definitions'"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = run_end_to_end(args.parties, args.latency_ms, Path(folder), args.executor)
    report(summary)
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a daily increment after the initial load, and a sensor tick with no change.

Usage: .venv/bin/python benchmarks/increment.py [--parties 100000] [--changed 1000] [--latency-ms 100]
       [--json]

What it measures: the emulators in their own processes (as benchmarks/end_to_end.py starts them), the
initial load through Dagster (one run over yesterday...today), then `--changed` parties renamed in JDE
(F0101.ALPH through the emulator's control endpoint, stamped now) and one run of today's partition: its
wall time and the Mailchimp requests it made, by route (target: at most 10 for the members). Then one
evaluation of `jde_change_sensor` with its cursor at JDE's clock (nothing changed since): its time, its
AIS calls, and that it requests no run (target: under 5 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import requests
from end_to_end import BIN, start_bench

from jde_mc_pipeline.defs.automation.sensors import encode_cursor
from jde_mc_pipeline.jde.extract import Watermark


def materialize(env: dict[str, str], workdir: Path, partition_args: list[str]) -> float:
    command = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "jde_mc_pipeline.definitions",
        "--select",
        "*",
    ]
    began = time.perf_counter()
    done = subprocess.run([*command, *partition_args], cwd=workdir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the run failed: {(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - began


def mailchimp_requests(url: str) -> dict[str, int]:
    stats = requests.get(f"{url}/_emulator/stats", timeout=10).json()
    return {route: sum(codes.values()) for route, codes in stats.get("requests", {}).items()}


def ais_calls(url: str) -> int:
    stats = requests.get(f"{url}/_emulator/stats", timeout=10).json()
    return sum(sum(codes.values()) for codes in stats.get("requests", {}).values())


def sensor_tick(env: dict[str, str], jde_url: str) -> dict[str, Any]:
    """One evaluation of jde_change_sensor in this process, its cursor at JDE's clock now."""
    os.environ.update(env)
    from jde_mc_pipeline.definitions import defs

    now = dt.datetime.now(dt.UTC)
    cursor = encode_cursor(Watermark(now.date(), int(now.strftime("%H%M%S"))))
    definitions = defs()
    sensor = definitions.resolve_sensor_def("jde_change_sensor")
    before = ais_calls(jde_url)
    with dg.instance_for_test() as instance:
        began = time.perf_counter()
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=definitions.resources)
        result = sensor(context)
        seconds = time.perf_counter() - began
    requested = len(result.run_requests or []) if isinstance(result, dg.SensorResult) else 0
    return {
        "seconds": round(seconds, 2),
        "ais_calls": ais_calls(jde_url) - before,
        "runs_requested": requested,
    }


def run_increment(parties: int, changed: int, latency_ms: float, workdir: Path) -> dict[str, Any]:
    today = dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=1)
    bench = start_bench(parties, latency_ms, workdir, first)
    jde_url, mailchimp_url, env, run_env = bench.jde_url, bench.mailchimp_url, bench.settings, bench.env
    try:
        initial = materialize(run_env, workdir, ["--partition-range", f"{first}...{today}"])
        rows = requests.get(f"{jde_url}/_emulator/rows/F0101", timeout=120).json()["rows"]
        renamed = [
            {"ABAN8": row["ABAN8"], "ABALPH": f"{row['ABALPH']} Renamed"[:40]} for row in rows[:changed]
        ]
        requests.post(f"{jde_url}/_emulator/tables/F0101/rows", json=renamed, timeout=120).raise_for_status()
        before = mailchimp_requests(mailchimp_url)
        increment = materialize(run_env, workdir, ["--partition", today.isoformat()])
        after = mailchimp_requests(mailchimp_url)
        tick = sensor_tick(env, jde_url)
    finally:
        bench.stop()
    delta = {route: n - before.get(route, 0) for route, n in after.items() if n - before.get(route, 0)}
    return {
        "parties": parties,
        "changed": changed,
        "latency_ms": latency_ms,
        "initial_load_seconds": round(initial, 1),
        "increment_seconds": round(increment, 1),
        "increment_mailchimp_requests": sum(delta.values()),
        "increment_member_requests": sum(n for route, n in delta.items() if "/lists/" in route),
        "increment_requests_by_route": delta,
        "sensor_tick": tick,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = run_increment(args.parties, args.changed, args.latency_ms, Path(folder))
    print(f"initial load of {summary['parties']:,} parties: {summary['initial_load_seconds']:.1f} s")
    print(
        f"increment of {summary['changed']:,} renamed parties: {summary['increment_seconds']:.1f} s, "
        f"{summary['increment_mailchimp_requests']} Mailchimp requests "
        f"({summary['increment_member_requests']} for members)"
    )
    for route, count in sorted(summary["increment_requests_by_route"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:>5}  {route}")
    tick = summary["sensor_tick"]
    print(
        f"sensor tick with no change: {tick['seconds']:.2f} s, {tick['ais_calls']} AIS calls, "
        f"{tick['runs_requested']} runs requested"
    )
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())

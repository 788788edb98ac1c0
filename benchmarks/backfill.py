"""Benchmark: a multi-run backfill, one `dagster asset materialize` process per partition, several at once.

Usage: .venv/bin/python benchmarks/backfill.py [--partitions 30] [--parallel 4] [--parties 1000]
       [--workdir DIR] [--json]

What it proves and measures: runs of `jde_to_mailchimp_sync` for N partitions, each a separate process
(as the run launcher starts them), `--parallel` at a time, all against one DuckDB audit file and one
Dagster instance (DAGSTER_HOME holding the project's dagster.yaml with op granularity, so the `mailchimp`
pool limit of 1 applies across the processes). Both emulators run in this process on free loopback ports,
the JDE one with `--parties` demo parties; `JDE_START_DATE` is the first of the N days ending today, so
the first run is the initial load (all history) and the others hold the parties changed on their day.

Printed: per run its partition, exit code, seconds, waits for the audit file's lock (the audit store
logs each one) and lock errors; then the wall time, the audit's `sync_runs` (every run must be there,
`succeeded`), and the Mailchimp emulator's most simultaneous connections and 429s. With `--json` the
last line is that summary as JSON (the backfill test reads it). The exit code is 1 when any run failed
or any lock error appeared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import requests

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp

ROOT = Path(__file__).resolve().parents[1]
POOLED_STEPS = {"mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync"}
LOCK_WAIT = "audit database locked by another process"
LOCK_ERROR = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)


def materialize(partition: str, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """One run for one partition in its own process; its exit code, time and lock lines."""
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "asset", "materialize", "-m", "jde_mc_pipeline.definitions"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--select", "*", "--partition", partition],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = done.stdout + done.stderr
    (workdir / f"run-{partition}.log").write_text(output, encoding="utf-8")
    return {
        "partition": partition,
        "returncode": done.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "lock_waits": output.count(LOCK_WAIT),
        "lock_errors": len(LOCK_ERROR.findall(output)),
    }


def audit_runs(path: Path) -> list[dict[str, Any]]:
    """The sync runs the audit holds (read after every run ended: nothing else holds the file)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "SELECT run_id, partition_start, partition_end, status FROM sync_runs ORDER BY partition_start"
        ).fetchall()
    return [dict(zip(("run_id", "partition_start", "partition_end", "status"), r, strict=True)) for r in rows]


def mailchimp_step_overlap(home: Path) -> int:
    """The most Mailchimp steps (pool `mailchimp`) that ran at the same moment across all runs, from
    the step start/end events in the Dagster instance."""
    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    moments: list[tuple[float, int]] = []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            for record in instance.all_logs(run.run_id, of_type=kinds):
                if record.step_key in POOLED_STEPS:
                    starting = record.dagster_event_type == dg.DagsterEventType.STEP_START
                    moments.append((record.timestamp, 1 if starting else -1))
    most = current = 0
    for _, change in sorted(moments, key=lambda m: (m[0], m[1])):
        current += change
        most = max(most, current)
    return most


def run_backfill(partitions: int, parallel: int, parties: int, workdir: Path) -> dict[str, Any]:
    """Start the emulators, run the N partitions, and summarise (see the module doc)."""
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    # These runs are CLI processes, not launched by the queue, so the shipped run granularity of the
    # pools cannot hold them back: op granularity makes them share the `mailchimp` pool step by step,
    # as a deployment that backfills from the CLI would configure it.
    config = (ROOT / "dagster.yaml").read_text().replace("granularity: run", "granularity: op")
    (home / "dagster.yaml").write_text(config)
    # Create the instance's SQLite storage once: processes that all find a fresh home race to create
    # the same tables ("table run_tags already exists").
    with dg.DagsterInstance.from_config(str(home)) as instance:
        set_pool_limits(instance)
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=partitions - 1)
    keys = [(start + dt.timedelta(days=i)).isoformat() for i in range(partitions)]
    jde = build_jde(demo=parties, seed=3).start()
    mailchimp = build_mailchimp(seed=3).start()
    try:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "JDE_START_DATE": start.isoformat(),
            "JDE_TIMEZONE": "UTC",
            "JDE_AIS_URL": jde.url,
            "JDE_USERNAME": "JDE",
            "JDE_PASSWORD": "JDE",
            "JDE_ENVIRONMENT": "JDV920",
            "MAILCHIMP_API_KEY": mailchimp.api_key,
            "MAILCHIMP_API_URL": mailchimp.api_url,
            "MAILCHIMP_LIST_ID": mailchimp.list_id,
            "JDE_MC_AUDIT_DB": str(workdir / "audit_trail.duckdb"),
            "JDE_MC_STAGING_DIR": str(workdir / "staging"),
        }
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            runs = list(pool.map(lambda key: materialize(key, env, workdir), keys))
        wall = time.perf_counter() - started
        stats = requests.get(f"{mailchimp.url}/_emulator/stats", timeout=10).json()
    finally:
        jde.stop()
        mailchimp.stop()
    audited = audit_runs(workdir / "audit_trail.duckdb")
    overlap = mailchimp_step_overlap(home)
    return {
        "partitions": keys,
        "parallel": parallel,
        "parties": parties,
        "wall_seconds": round(wall, 2),
        "runs": runs,
        "audit_runs": audited,
        "mailchimp_steps_at_once": overlap,
        "mailchimp_max_concurrent": stats.get("max_concurrent"),
        "mailchimp_429": stats["throttled"],
        "mailchimp_requests": stats["total_requests"],
    }


def report(summary: dict[str, Any]) -> None:
    print(f"{len(summary['runs'])} runs, {summary['parallel']} at a time, {summary['parties']} demo parties")
    print(f"{'partition':<12} {'exit':>4} {'seconds':>8} {'lock waits':>10} {'lock errors':>11}")
    for run in summary["runs"]:
        print(
            f"{run['partition']:<12} {run['returncode']:>4} {run['seconds']:>8.1f} "
            f"{run['lock_waits']:>10} {run['lock_errors']:>11}"
        )
    seconds = [r["seconds"] for r in summary["runs"]]
    mean = sum(seconds) / len(seconds)
    print(f"wall time {summary['wall_seconds']:.1f} s; per run mean {mean:.1f} s, max {max(seconds):.1f} s")
    waits = sum(r["lock_waits"] for r in summary["runs"])
    print(f"lock waits {waits}, lock errors {sum(r['lock_errors'] for r in summary['runs'])}")
    statuses: dict[str, int] = {}
    for row in summary["audit_runs"]:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    print(f"audit sync_runs: {len(summary['audit_runs'])} runs {statuses}")
    print(f"most Mailchimp steps running at once (pool mailchimp): {summary['mailchimp_steps_at_once']}")
    print(
        f"Mailchimp emulator: {summary['mailchimp_requests']} requests, most simultaneous connections "
        f"{summary['mailchimp_max_concurrent']}, 429s {summary['mailchimp_429']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--parties", type=int, default=1000)
    parser.add_argument("--workdir", help="keep the audit file, Dagster home and run logs here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    args = parser.parse_args(argv)
    if args.workdir:
        workdir = Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        summary = run_backfill(args.partitions, args.parallel, args.parties, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="jde-mc-backfill-") as folder:
            summary = run_backfill(args.partitions, args.parallel, args.parties, Path(folder))
    report(summary)
    if args.json:
        print(json.dumps(summary))
    failed = any(r["returncode"] != 0 or r["lock_errors"] for r in summary["runs"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

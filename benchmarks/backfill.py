"""Benchmark: a multi-run backfill, one `dagster asset materialize` process per partition, several at once.

Usage: .venv/bin/python benchmarks/backfill.py [--partitions 30] [--parallel 4] [--parties 1000]
       [--backend embedded|postgresql] [--workdir DIR] [--json]

What it proves and measures: runs of `jde_to_mailchimp_sync` for N partitions, each a separate process
(as the run launcher starts them), `--parallel` at a time, all against one DuckDB audit file and one
Dagster instance (DAGSTER_HOME holding the project's dagster.yaml with op granularity, so the `mailchimp`
pool limit of 1 applies across the processes). Both emulators run in this process on free loopback ports,
the JDE one with `--parties` demo parties; `JDE_START_DATE` is the first of the N days ending today, so
the first run is the initial load (all history) and the others hold the parties changed on their day.

`--backend postgresql` runs the same backfill as a deployment past one machine would: the Dagster
instance's storage on PostgreSQL (deploy/dagster.yaml, its run launcher aside: these runs are CLI
processes) and the audit on PostgreSQL (`JDE_MC_AUDIT_URL`, its schema created by `jde-mc audit
upgrade` first), on a server the script starts and stops (jde_mc_pipeline_tests/postgres.py).

Printed: per run its partition, exit code, seconds, waits for the audit's locks (the audit store logs
each one: DuckDB's file lock, PostgreSQL's lock on advancing the synced state) and lock errors; then the
wall time, the audit's `sync_runs` (every run must be there, `succeeded`), the outcomes lost (a party a
run pulled without its outcome for a target) and duplicated (two for the same run, party and target),
and the Mailchimp emulator's most simultaneous connections and 429s. With `--json` the
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import dagster as dg
import requests
import yaml

from jde_mc_pipeline.audit.backends import AnyAuditStore, open_store
from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
POOLED_STEPS = {"mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync"}
LOCK_WAITS = re.compile(r"audit database locked by another process|being advanced by another process")
TARGETS = ("list_member", "ecommerce_customer")
LOCK_ERROR = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)


class Backend(NamedTuple):
    """What one backend gives the runs: the instance settings, their variables, the audit's location."""

    instance_yaml: str
    env: dict[str, str]
    audit: str


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
        "lock_waits": len(LOCK_WAITS.findall(output)),
        "lock_errors": len(LOCK_ERROR.findall(output)),
    }


def audit_runs(store: AnyAuditStore) -> list[dict[str, Any]]:
    """The sync runs the audit holds (read after every run ended)."""
    frame = store.query(
        "SELECT run_id, partition_start, partition_end, status FROM sync_runs ORDER BY partition_start"
    )
    return frame.to_dict("records")


def outcome_integrity(store: AnyAuditStore) -> dict[str, int]:
    """Outcomes lost (a party pulled by a run with no outcome of that run for a target) and duplicated
    (more than one for the same run, party and target), over every run of the backfill."""
    targets = ", ".join(f"('{target}')" for target in TARGETS)
    lost = store.query(
        f"""
        SELECT count(*) AS n FROM (
            SELECT run_id, an8 FROM jde_pulls WHERE an8 > 0 UNION SELECT run_id, an8 FROM jde_deleted
        ) p CROSS JOIN (VALUES {targets}) t(target)
        WHERE NOT EXISTS (
            SELECT 1 FROM sync_outcomes o
            WHERE o.run_id = p.run_id AND o.an8 = p.an8 AND o.target = t.target)
        """
    )
    duplicated = store.query(
        "SELECT count(*) AS n FROM (SELECT run_id, an8, target FROM sync_outcomes "
        "GROUP BY run_id, an8, target HAVING count(*) > 1) d"
    )
    outcomes = store.query("SELECT count(*) AS n FROM sync_outcomes")
    return {
        "outcomes": int(outcomes["n"].iloc[0]),
        "lost": int(lost["n"].iloc[0]),
        "duplicated": int(duplicated["n"].iloc[0]),
    }


def mailchimp_step_overlap(instance: dg.DagsterInstance) -> int:
    """The most Mailchimp steps (pool `mailchimp`) that ran at the same moment across all runs, from
    the step start/end events in the Dagster instance."""
    kinds = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
    }
    moments: list[tuple[float, int]] = []
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


@contextmanager
def backend_settings(backend: str, workdir: Path) -> Iterator[Backend]:
    """The instance settings, the environment and the audit location of one backend (module doc)."""
    # These runs are CLI processes, not launched by the queue, so the shipped run granularity of the
    # pools cannot hold them back: op granularity makes them share the `mailchimp` pool step by step,
    # as a deployment that backfills from the CLI would configure it.
    if backend == "embedded":
        config = (ROOT / "dagster.yaml").read_text()
        audit = str(workdir / "audit_trail.duckdb")
        yield Backend(
            config.replace("granularity: run", "granularity: op"), {"JDE_MC_AUDIT_DB": audit}, audit
        )
        return
    deployed = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    deployed.pop("run_launcher")
    deployed["concurrency"]["pools"]["granularity"] = "op"
    server = PostgresServer.start()
    try:
        server.create_database("backfill_instance")
        audit = server.create_database("backfill_audit")
        env = {**server.dagster_env("backfill_instance"), "JDE_MC_AUDIT_URL": audit}
        jde_mc = Path(sys.executable).with_name("jde-mc")
        subprocess.run(
            [str(jde_mc), "audit", "upgrade"], env={**os.environ, **env}, check=True, capture_output=True
        )
        yield Backend(yaml.safe_dump(deployed, sort_keys=False), env, audit)
    finally:
        server.stop()


def run_backfill(
    partitions: int, parallel: int, parties: int, workdir: Path, backend: str = "embedded"
) -> dict[str, Any]:
    """Start the emulators, run the N partitions, and summarise (see the module doc)."""
    with backend_settings(backend, workdir) as settings:
        return _run(partitions, parallel, parties, workdir, settings) | {"backend": backend}


def _run(partitions: int, parallel: int, parties: int, workdir: Path, settings: Backend) -> dict[str, Any]:
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(settings.instance_yaml)
    # Create the instance's storage once: processes that all find a fresh home race to create the same
    # tables ("table run_tags already exists").
    with _instance(home, settings.env) as instance:
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
            "JDE_MC_STAGING_DIR": str(workdir / "staging"),
            **settings.env,
        }
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            runs = list(pool.map(lambda key: materialize(key, env, workdir), keys))
        wall = time.perf_counter() - started
        stats = requests.get(f"{mailchimp.url}/_emulator/stats", timeout=10).json()
    finally:
        jde.stop()
        mailchimp.stop()
    store = open_store(settings.audit, read_only=True)
    audited = audit_runs(store)
    integrity = outcome_integrity(store)
    with _instance(home, settings.env) as instance:
        overlap = mailchimp_step_overlap(instance)
    return {
        "partitions": keys,
        "parallel": parallel,
        "parties": parties,
        "wall_seconds": round(wall, 2),
        "runs": runs,
        "audit_runs": audited,
        "outcomes": integrity,
        "mailchimp_steps_at_once": overlap,
        "mailchimp_max_concurrent": stats.get("max_concurrent"),
        "mailchimp_429": stats["throttled"],
        "mailchimp_requests": stats["total_requests"],
    }


@contextmanager
def _instance(home: Path, env: dict[str, str]) -> Iterator[dg.DagsterInstance]:
    """The instance of `home`, read with the backend's variables (deploy/dagster.yaml reads
    DAGSTER_POSTGRES_* from the environment)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            yield instance
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def report(summary: dict[str, Any]) -> None:
    print(
        f"{len(summary['runs'])} runs, {summary['parallel']} at a time, {summary['parties']} demo parties, "
        f"{summary['backend']} instance and audit"
    )
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
    found = summary["outcomes"]
    print(f"outcomes: {found['outcomes']} recorded, {found['lost']} lost, {found['duplicated']} duplicated")
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
    parser.add_argument("--backend", choices=("embedded", "postgresql"), default="embedded")
    parser.add_argument("--workdir", help="keep the audit file, Dagster home and run logs here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    args = parser.parse_args(argv)
    sizes = (args.partitions, args.parallel, args.parties)
    if args.workdir:
        workdir = Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        summary = run_backfill(*sizes, workdir, args.backend)
    else:
        with tempfile.TemporaryDirectory(prefix="jde-mc-backfill-") as folder:
            summary = run_backfill(*sizes, Path(folder), args.backend)
    report(summary)
    if args.json:
        print(json.dumps(summary))
    failed = any(r["returncode"] != 0 or r["lock_errors"] for r in summary["runs"])
    failed = failed or summary["outcomes"]["lost"] > 0 or summary["outcomes"]["duplicated"] > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: Mailchimp down (every call 503) while runs pile up in the real Dagster daemon's queue.

Usage: .venv/bin/python benchmarks/outage.py [--outage-seconds 600] [--runs 4] [--parties 400]
       [--granularity run|op] [--retry-seconds 60] [--json]

What it measures: both emulators in this process, a Dagster home with the project's dagster.yaml (its
pool granularity replaced by `--granularity`), and `dagster-daemon run`. Mailchimp answers 503 to every
call; `--runs` runs of the sync job (today's partition and the days before) are submitted to the queue, as
the sensor and schedule would during an outage. Every 2 s it samples how many runs are QUEUED and STARTED
and the CPU time of every run's processes (the run worker named by the run's engine event, and its
children). After `--outage-seconds` Mailchimp heals; it waits for every run to end, then launches
`mailchimp_replay` once (what an operator, or the walkthrough of docs/operations.md, does) and checks
Mailchimp against the contract (jde_mc_pipeline_tests/sync/expected.py: the same oracle as the tests).

Printed: the most runs in progress at once, the CPU each run used while it waited for the pool (a run
that is QUEUED has no process: 0), the drain time after the heal, the runs' end states, the replay's, and
the contract's mismatches (0 expected). `--json`: that summary as JSON on the last line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dagster as dg
import requests
from processes import tree_cpu_seconds

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.defs.automation.dead_runs import run_process_id
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.sync import expected

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DONE = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def launch(job: str, env: dict[str, str], instance: dg.DagsterInstance, tags: dict[str, str]) -> str:
    before = {r.run_id for r in instance.get_runs()}
    command = [str(BIN / "dagster"), "job", "launch", "-m", "jde_mc_pipeline.definitions", "-j", job]
    subprocess.run([*command, "--tags", json.dumps(tags)], env=env, check=True, capture_output=True)
    [run_id] = {r.run_id for r in instance.get_runs()} - before
    return run_id


def control(url: str, body: dict[str, Any]) -> None:
    requests.post(f"{url}/_emulator/faults", json=body, timeout=10).raise_for_status()


def run_outage(outage: float, runs: int, parties: int, granularity: str, retry: float, workdir: Path) -> dict:
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "dagster.yaml").read_text().replace("granularity: run", f"granularity: {granularity}")
    (home / "dagster.yaml").write_text(config)
    instance = dg.DagsterInstance.from_config(str(home))
    set_pool_limits(instance)
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=runs - 1)
    jde = build_jde(demo=parties, seed=9).start()
    mailchimp = build_mailchimp(seed=9).start()
    identity = jde.app.identity
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JDE_", "MAILCHIMP_", "DAGSTER_"))},
        "DAGSTER_HOME": str(home),
        "JDE_AIS_URL": jde.url,
        "JDE_USERNAME": identity.username,
        "JDE_PASSWORD": identity.password,
        "JDE_ENVIRONMENT": identity.environment,
        "JDE_TIMEZONE": "UTC",
        "JDE_START_DATE": start.isoformat(),
        "MAILCHIMP_API_KEY": mailchimp.api_key,
        "MAILCHIMP_API_URL": mailchimp.api_url,
        "MAILCHIMP_LIST_ID": mailchimp.list_id,
        "JDE_MC_AUDIT_DB": str(workdir / "audit_trail.duckdb"),
        "JDE_MC_STAGING_DIR": str(workdir / "staging"),
        "JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS": str(retry),
    }
    log = (workdir / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "jde_mc_pipeline.definitions"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        control(mailchimp.url, {"fault_rate": 1.0, "kinds": ["503"]})
        days = [(start + dt.timedelta(days=i)).isoformat() for i in range(runs)]
        run_ids = [launch("jde_to_mailchimp_sync", env, instance, {"dagster/partition": d}) for d in days]
        began = time.monotonic()
        most_in_progress, most_queued, cpu = 0, 0, {run_id: 0.0 for run_id in run_ids}
        while time.monotonic() - began < outage:
            statuses = {r.run_id: r.status for r in instance.get_runs(dg.RunsFilter(run_ids=run_ids))}
            in_progress = [i for i, s in statuses.items() if s == dg.DagsterRunStatus.STARTED]
            most_in_progress = max(most_in_progress, len(in_progress))
            most_queued = max(most_queued, sum(s == dg.DagsterRunStatus.QUEUED for s in statuses.values()))
            for run_id in in_progress:
                pid = run_process_id(instance, run_id)
                if pid is not None:
                    cpu[run_id] = max(cpu[run_id], tree_cpu_seconds(pid))
            time.sleep(2)
        control(mailchimp.url, {"fault_rate": 0.0})
        healed = time.monotonic()
        while any(r.status not in DONE for r in instance.get_runs(dg.RunsFilter(run_ids=run_ids))):
            time.sleep(2)
        drain = time.monotonic() - healed
        replay = launch("mailchimp_replay", env, instance, {})
        while instance.get_run_by_id(replay).status not in DONE:
            time.sleep(2)
        found = expected.parties(jde.url, today)
        problems = expected.mismatches(mailchimp, found)
        ends = {
            r.tags.get("dagster/partition"): r.status.value
            for r in instance.get_runs(dg.RunsFilter(run_ids=run_ids))
        }
        return {
            "granularity": granularity,
            "outage_seconds": outage,
            "runs": runs,
            "parties": parties,
            "most_runs_in_progress": most_in_progress,
            "most_runs_queued": most_queued,
            "cpu_seconds_per_run": {
                instance.get_run_by_id(k).tags["dagster/partition"]: round(v, 1) for k, v in cpu.items()
            },
            "drain_seconds_after_heal": round(drain, 1),
            "run_ends": ends,
            "replay": instance.get_run_by_id(replay).status.value,
            "contract_mismatches": len(problems),
            "mismatch_sample": problems[:5],
        }
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        log.close()
        instance.dispose()
        jde.stop()
        mailchimp.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=600)
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--parties", type=int, default=400)
    parser.add_argument("--granularity", choices=("run", "op"), default="run")
    parser.add_argument("--retry-seconds", type=float, default=60)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = run_outage(
            args.outage_seconds, args.runs, args.parties, args.granularity, args.retry_seconds, Path(folder)
        )
    outage = summary["outage_seconds"]
    print(f"Mailchimp down {outage:.0f} s, {summary['runs']} runs, pools: {summary['granularity']}")
    print(f"most runs in progress at once {summary['most_runs_in_progress']}, ", end="")
    print(f"most queued {summary['most_runs_queued']}")
    for day, seconds in summary["cpu_seconds_per_run"].items():
        print(f"  run {day}: {seconds:.1f} CPU s during the outage ({seconds / outage:.0%} of a core)")
    print(f"drained {summary['drain_seconds_after_heal']:.0f} s after the heal; ends {summary['run_ends']}")
    print(f"replay {summary['replay']}; contract mismatches {summary['contract_mismatches']}")
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["contract_mismatches"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

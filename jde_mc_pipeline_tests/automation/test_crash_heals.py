"""A crash that heals itself: `dagster dev` killed in the initial load's member step, started again, and
nothing else done by a human.

The story, on the embedded default (SQLite instance, DuckDB audit) and on PostgreSQL (the instance's run,
event-log and schedule storage of deploy/dagster.yaml, with the default run launcher that `dagster dev`
uses, and the audit through `JDE_MC_AUDIT_URL`):
1. `dagster dev` starts with automation running; `jde_change_sensor`'s first tick requests the initial
   load, and the queue launches it.
2. Once the run's first contacts are in Mailchimp (its member step, in calls of 25 contacts slowed by the
   emulator's latency), the whole `dagster dev` process group is SIGKILLed: webserver, daemon, code
   server, run worker. That is what an OOM-killed container or a reboot does. Nothing is left to say the
   run died: it stays STARTED.
3. `dagster dev` is started again. `jde_dead_run_sensor` sees the run's process gone and fails the run;
   the daemon's run retries (dagster.yaml `run_retries`) re-execute it from failure: the extract and the
   mapping that succeeded are not redone, the Mailchimp steps are.
4. Within 5 minutes of the restart the retry has succeeded, Mailchimp holds every in-scope contact and
   customer exactly once, the audit shows the killed run `interrupted` and its retry `succeeded`, and a
   re-run of the partition writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import duckdb
import psycopg
import pytest
import requests
import yaml

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.defs.run_tags import TRIGGER_TAG
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.postgres import PostgresServer
from jde_mc_pipeline_tests.sync import expected, support

# The dead-run sensor compares the start times of runs with those of processes in /proc.
pytestmark = [pytest.mark.real_clock, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TODAY = dt.datetime.now(dt.UTC).date()
START = TODAY - dt.timedelta(days=3)
MEMBER_STEP = "mailchimp_list_member_sync"
HEAL_SECONDS = 300
WORKSPACE = "load_from:\n  - python_module:\n      module_name: jde_mc_pipeline.definitions\n"
PARENT_TAG = "dagster/parent_run_id"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_instance_yaml() -> str:
    """deploy/dagster.yaml without its run launcher: the PostgreSQL storage and every other setting of
    the deployment, with the default launcher that `dagster dev` runs on one machine."""
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    config.pop("run_launcher")
    return yaml.safe_dump(config, sort_keys=False)


class DevBench:
    """Both emulators, a Dagster home, and `dagster dev` with automation running, in its own process
    group so that one SIGKILL takes every process it started."""

    def __init__(self, folder: Path, instance_yaml: str, extra_env: dict[str, str], parties: int) -> None:
        self.folder = folder
        self.home = folder / "dagster_home"
        self.home.mkdir()
        (self.home / "dagster.yaml").write_text(instance_yaml)
        (self.home / "workspace.yaml").write_text(WORKSPACE)
        self.jde = build_jde(demo=parties, seed=11).start()
        self.mailchimp = build_mailchimp(seed=11).start()
        identity = self.jde.app.identity
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("JDE_", "MAILCHIMP_", "DAGSTER_"))},
            "DAGSTER_HOME": str(self.home),
            "JDE_AIS_URL": self.jde.url,
            "JDE_USERNAME": identity.username,
            "JDE_PASSWORD": identity.password,
            "JDE_ENVIRONMENT": identity.environment,
            "JDE_TIMEZONE": "UTC",
            "JDE_START_DATE": START.isoformat(),
            "MAILCHIMP_API_KEY": self.mailchimp.api_key,
            "MAILCHIMP_API_URL": self.mailchimp.api_url,
            "MAILCHIMP_LIST_ID": self.mailchimp.list_id,
            "JDE_MC_AUDIT_DB": str(folder / "audit_trail.duckdb"),
            "JDE_MC_STAGING_DIR": str(folder / "staging"),
            "JDE_MC_AUTOMATION": "running",
            "JDE_MC_SENSOR_INTERVAL_SECONDS": "5",
            # small batch-subscribe calls, so that the contacts arrive over seconds and the kill lands
            # between two of them
            "JDE_MC_MEMBER_CHUNK_SIZE": "25",
            **extra_env,
        }
        self.audit_url = extra_env.get("JDE_MC_AUDIT_URL")
        self.instance = dg.DagsterInstance.from_config(str(self.home))  # needs DAGSTER_POSTGRES_* set
        set_pool_limits(self.instance)
        self.log = (folder / "dagster_dev.log").open("a")
        self.process = self.start()

    def start(self) -> subprocess.Popen:
        command = [str(BIN / "dagster"), "dev", "-w", str(self.home / "workspace.yaml")]
        return subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(_free_port())],
            cwd=self.home,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def crash(self) -> None:
        """SIGKILL to `dagster dev`'s whole process group."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def runs(self) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs())

    def wait_for(self, what: str, check: Callable[[], object], seconds: float, poll: float = 1.0) -> object:
        deadline = time.monotonic() + seconds
        while not (found := check()):
            assert self.process.poll() is None, f"dagster dev exited (log: {self.log.name})"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(poll)
        return found

    def step_started(self, run_id: str, step: str) -> bool:
        return any(
            record.dagster_event is not None and record.dagster_event.step_key == step
            for record in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        )

    def audit(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of a query on the audit (`?` placeholders), read by this test on either backend."""
        if self.audit_url is None:
            with duckdb.connect(self.env["JDE_MC_AUDIT_DB"], read_only=True) as conn:
                return conn.execute(sql, params or []).fetchall()
        with psycopg.connect(self.audit_url) as conn:
            return conn.execute(sql.replace("?", "%s"), params or []).fetchall()

    def launch(self, partition: dt.date) -> str:
        """A run of the sync job for one partition, submitted to the queue as the UI does."""
        command = [str(BIN / "dagster"), "job", "launch", "-w", str(self.home / "workspace.yaml")]
        before = {r.run_id for r in self.runs()}
        tags = json.dumps({"dagster/partition": partition.isoformat()})
        subprocess.run(
            [*command, "-j", "jde_to_mailchimp_sync", "--tags", tags],
            cwd=self.home,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        [run_id] = {r.run_id for r in self.runs()} - before
        return run_id

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()
        self.instance.dispose()
        self.jde.stop()
        self.mailchimp.stop()


def member_count(bench: DevBench) -> int:
    """The audience's contacts, as Mailchimp counts them."""
    dc = bench.mailchimp.api_key.rpartition("-")[2]
    reply = requests.get(
        bench.mailchimp.api_url.format(dc=dc) + f"/lists/{bench.mailchimp.list_id}/members",
        params={"count": 1},
        auth=("test", bench.mailchimp.api_key),
        timeout=30,
    )
    reply.raise_for_status()
    return int(reply.json()["total_items"])


@pytest.fixture(params=["embedded", "postgresql"])
def bench(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DevBench]:
    """The embedded default (the project's dagster.yaml, a DuckDB file), or the instance and the audit
    on PostgreSQL, the audit's schema created first with `jde-mc audit upgrade` as a deployment does."""
    if request.param == "embedded":
        instance_yaml, extra = (ROOT / "dagster.yaml").read_text(), {}
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        server.create_database("crash_instance")
        extra = {
            **server.dagster_env("crash_instance"),
            "JDE_MC_AUDIT_URL": server.create_database("crash_audit"),
        }
        instance_yaml = postgres_instance_yaml()
        subprocess.run(
            [str(BIN / "jde-mc"), "audit", "upgrade"],
            env={**os.environ, **extra},
            check=True,
            capture_output=True,
        )
        for name, value in extra.items():  # this process reads the instance too
            monkeypatch.setenv(name, value)
    bench = DevBench(tmp_path, instance_yaml, extra, parties=2000)
    try:
        yield bench
    finally:
        bench.stop()


def test_a_deployment_killed_in_the_member_step_heals_without_a_human(bench: DevBench) -> None:
    support.control(bench.mailchimp, "POST", "faults", {"latency_ms": 800})  # a member step that lasts

    def initial_load() -> str | None:
        return next((r.run_id for r in bench.runs() if r.tags.get(TRIGGER_TAG) == "sensor"), None)

    killed = str(bench.wait_for("the sensor's initial load", initial_load, seconds=180))
    bench.wait_for("the member step", lambda: bench.step_started(killed, MEMBER_STEP), seconds=300, poll=0.5)
    bench.wait_for("the first contacts in Mailchimp", lambda: member_count(bench) > 0, seconds=120, poll=0.1)
    bench.crash()
    support.control(bench.mailchimp, "POST", "faults", {"latency_ms": 0})
    found = expected.parties(bench.jde.url, TODAY)
    written = member_count(bench)
    print(f"killed with {written} of {len(expected.holders(found))} contacts written")  # pytest -s
    assert 0 < written < len(expected.holders(found))
    assert bench.instance.get_run_by_id(killed).status == dg.DagsterRunStatus.STARTED

    bench.process = bench.start()  # the restart; no other action from here on
    restarted = time.monotonic()

    def retried() -> dg.DagsterRun | None:
        retries = [r for r in bench.runs() if r.tags.get(PARENT_TAG) == killed]
        return next((r for r in retries if r.status == dg.DagsterRunStatus.SUCCESS), None)

    retry = bench.wait_for("the killed run's retry to succeed", retried, seconds=HEAL_SECONDS, poll=2.0)
    assert isinstance(retry, dg.DagsterRun)
    healed = time.monotonic() - restarted
    print(f"healed {healed:.0f} s after the restart (retry {retry.run_id})")  # shown with pytest -s
    assert healed < HEAL_SECONDS
    assert bench.instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE

    assert expected.mismatches(bench.mailchimp, found) == []
    members, customers = expected.mailchimp_state(bench.mailchimp)
    assert len(members) == len(customers) == len(expected.holders(found))  # each exactly once
    statuses = dict(bench.audit("SELECT run_id, status FROM sync_runs"))
    assert statuses[killed] == "interrupted"
    assert statuses[retry.run_id] == "succeeded"
    assert bench.audit("SELECT parent_run_id FROM sync_runs WHERE run_id = ?", [retry.run_id]) == [(killed,)]
    twice = "SELECT an8, target FROM sync_outcomes WHERE run_id = ? GROUP BY an8, target HAVING count(*) > 1"
    assert bench.audit(twice, [retry.run_id]) == []

    writes_before = support.write_requests(bench.mailchimp)
    rerun = bench.launch(START)
    bench.wait_for(
        "the re-run",
        lambda: bench.instance.get_run_by_id(rerun).status == dg.DagsterRunStatus.SUCCESS,
        seconds=240,
    )
    assert support.write_requests(bench.mailchimp) == writes_before
    assert bench.audit("SELECT count(*) FROM mailchimp_writes WHERE run_id = ?", [rerun]) == [(0,)]

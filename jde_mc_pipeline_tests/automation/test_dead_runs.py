"""A deployment killed with SIGKILL (the OOM killer taking the container, a reboot) while a run is in its
member step, with the real Dagster daemon: its queue, the project's dagster.yaml (pools with run
granularity) and jde_dead_run_sensor.

When only a run worker dies, its code server notices and fails the run. When the code server dies with it
(the whole process tree), nothing is left to notice: the run stays STARTED for ever and, after the
restart, every queued sync waits behind it (the default run launcher cannot health-check run workers).
With the sensor, the dead run is marked failed within a sensor interval of the restart, the queued run
proceeds, a re-run of the killed partition brings Mailchimp to the contract with nothing duplicated, and
the audit shows the killed run as `interrupted`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.defs.automation.dead_runs import run_process_id
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.sync import expected, support

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TODAY = dt.datetime.now(dt.UTC).date()
START = TODAY - dt.timedelta(days=3)
MEMBER_STEP = "mailchimp_list_member_sync"
LIMIT_SECONDS = 240


class Bench:
    """Both emulators, a Dagster home with the project's dagster.yaml, and `dagster-daemon run`."""

    def __init__(self, folder: Path) -> None:
        self.home = folder / "dagster_home"
        self.home.mkdir()
        (self.home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
        self.instance = dg.DagsterInstance.from_config(str(self.home))
        set_pool_limits(self.instance)
        self.jde = build_jde(demo=400, seed=5).start()
        self.mailchimp = build_mailchimp(seed=5).start()
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
        }
        self.audit_db = folder / "audit_trail.duckdb"
        self.folder = folder
        self.log = (folder / "daemon.log").open("w")
        self.daemon = self.start_daemon()

    def start_daemon(self) -> subprocess.Popen:
        """`dagster-daemon run` in its own process group (its code server and run workers join it)."""
        return subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "jde_mc_pipeline.definitions"],
            cwd=self.folder,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def crash(self) -> None:
        """SIGKILL to the daemon's whole process group: daemon, code server, run workers, step processes."""
        os.killpg(self.daemon.pid, signal.SIGKILL)
        self.daemon.wait(timeout=30)

    def launch(self, partition: dt.date) -> str:
        """Submit a run of the sync job for one partition to the queue, as the UI does."""
        tags = json.dumps({"dagster/partition": partition.isoformat()})
        command = [str(BIN / "dagster"), "job", "launch", "-m", "jde_mc_pipeline.definitions"]
        before = {r.run_id for r in self.instance.get_runs()}
        subprocess.run(
            [*command, "-j", "jde_to_mailchimp_sync", "--tags", tags],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        [run_id] = {r.run_id for r in self.instance.get_runs()} - before
        return run_id

    def status(self, run_id: str) -> dg.DagsterRunStatus:
        return self.instance.get_run_by_id(run_id).status

    def wait_for(self, what: str, check, seconds: float = LIMIT_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert self.daemon.poll() is None, "dagster-daemon exited"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(1)

    def step_started(self, run_id: str, step: str) -> bool:
        return any(
            record.dagster_event is not None and record.dagster_event.step_key == step
            for record in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        )

    def stop(self) -> None:
        if self.daemon.poll() is None:
            os.killpg(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.daemon.pid, signal.SIGKILL)
        self.log.close()
        self.instance.dispose()
        self.jde.stop()
        self.mailchimp.stop()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(tmp_path)
    try:
        yield bench
    finally:
        bench.stop()


def test_a_run_killed_in_its_member_step_stops_blocking_and_a_rerun_repairs_it(bench: Bench) -> None:
    support.control(bench.mailchimp, "POST", "faults", {"latency_ms": 1500})  # a member step that lasts
    killed = bench.launch(START)
    bench.wait_for("the member step", lambda: bench.step_started(killed, MEMBER_STEP))
    time.sleep(3)  # some member writes are on their way
    worker = run_process_id(bench.instance, killed)
    assert worker is not None
    bench.crash()
    support.control(bench.mailchimp, "POST", "faults", {"latency_ms": 0})
    time.sleep(2)
    assert bench.status(killed) == dg.DagsterRunStatus.STARTED  # what Dagster alone leaves for ever
    bench.daemon = bench.start_daemon()  # the restart

    waiting = bench.launch(TODAY)
    began = time.monotonic()
    bench.wait_for("the dead run to be failed", lambda: bench.status(killed) == dg.DagsterRunStatus.FAILURE)
    bench.wait_for("the queued run", lambda: bench.status(waiting) in (dg.DagsterRunStatus.SUCCESS,))
    assert time.monotonic() - began < 120
    messages = [record.message for record in bench.instance.all_logs(killed)]
    assert any("jde_dead_run_sensor" in m and f"pid {worker}" in m for m in messages), messages[-5:]

    rerun = bench.launch(START)
    bench.wait_for("the re-run", lambda: bench.status(rerun) == dg.DagsterRunStatus.SUCCESS)

    found = expected.parties(bench.jde.url, TODAY)
    assert expected.mismatches(bench.mailchimp, found) == []
    members, customers = expected.mailchimp_state(bench.mailchimp)
    assert len(members) == len(expected.holders(found))  # nothing created twice
    assert len(customers) == len(expected.holders(found))
    with duckdb.connect(str(bench.audit_db), read_only=True) as conn:
        statuses = dict(conn.execute("SELECT run_id, status FROM sync_runs").fetchall())
    assert statuses[killed] == "interrupted"
    assert statuses[waiting] == statuses[rerun] == "succeeded"

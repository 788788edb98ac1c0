"""Two ways a sync run dies of SIGKILL (the OOM killer, a reboot, `kill -9`), with the real Dagster
daemon: its queue, the project's dagster.yaml (pools with run granularity) and jde_dead_run_sensor.

1. The whole deployment is killed while a run is in its member step. When only a run worker dies, its
   code server notices and fails the run. When the code server dies with it (the whole process tree),
   nothing is left to notice: the run stays STARTED for ever and, after the restart, every queued sync
   waits behind it (the default run launcher cannot health-check run workers). With the sensor, the dead
   run is marked failed within a sensor interval of the restart.
2. Only the run worker is killed, in the middle of an audit write: `record_pulls`, caught the moment its
   first commit creates the DuckDB write-ahead log (kill_in_audit_write). The file is left with a log
   that was never checkpointed and the killed write's rows uncommitted; the code server, still alive,
   fails the run; the next run opens the file and goes on.

Either way the next queued run proceeds within two minutes, a re-run of the killed partition brings
Mailchimp to the contract with nothing duplicated (neither in Mailchimp nor in the audit), and the audit
shows the killed run as `interrupted`. The next run covers every partition after the killed one, so
that the contract (every party as JDE holds it now) is what the runs asked for.

The runs here are launched with `dagster/max_retries` 0: what is under test is the path without a run
retry (retries turned off, or used up), where a person re-runs the partition. The retry that heals a
killed run with no human action is test_crash_heals.py's story.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.defs.automation.dead_runs import run_process_id
from jde_mc_pipeline.defs.run_tags import RANGE_END_TAG, RANGE_START_TAG
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.sync import expected, support

# The dead-run sensor compares the start times of runs with those of processes in /proc.
pytestmark = pytest.mark.real_clock

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TODAY = dt.datetime.now(dt.UTC).date()
START = TODAY - dt.timedelta(days=3)
AFTER_START = START + dt.timedelta(days=1)
MEMBER_STEP = "mailchimp_list_member_sync"
LIMIT_SECONDS = 240
PULLS_LOGGED = "kept in jde_pulls"
"""The line jde_extract logs once `record_pulls` has returned."""
NO_RETRY = "dagster/max_retries"
"""The run tag that overrides dagster.yaml's `run_retries.max_retries` for one run."""
ORPHAN_ROWS = """
    SELECT DISTINCT run_id FROM (
        SELECT run_id FROM jde_pulls UNION ALL SELECT run_id FROM mapped_values
        UNION ALL SELECT run_id FROM mapping_events UNION ALL SELECT run_id FROM mailchimp_writes
        UNION ALL SELECT run_id FROM sync_outcomes)
    WHERE run_id NOT IN (SELECT run_id FROM sync_runs)
"""
"""Audit rows of a run that `sync_runs` does not know."""
OUTCOMES_TWICE = "SELECT run_id, an8, target FROM sync_outcomes GROUP BY ALL HAVING count(*) > 1"
RECORDS_TWICE = "SELECT target, target_key FROM synced_state GROUP BY ALL HAVING count(*) > 1"


class Bench:
    """Both emulators, a Dagster home with the project's dagster.yaml, and `dagster-daemon run`."""

    def __init__(self, folder: Path, parties: int = 400) -> None:
        self.home = folder / "dagster_home"
        self.home.mkdir()
        (self.home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
        self.instance = dg.DagsterInstance.from_config(str(self.home))
        set_pool_limits(self.instance)
        self.jde = build_jde(demo=parties, seed=5).start()
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

    def launch(self, first: dt.date, last: dt.date | None = None) -> str:
        """Submit a run of the sync job to the queue, as the UI does: one partition, or the range
        `first`...`last` in one run."""
        if last is None:
            tags = {"dagster/partition": first.isoformat()}
        else:
            tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
        command = [str(BIN / "dagster"), "job", "launch", "-m", "jde_mc_pipeline.definitions"]
        before = {r.run_id for r in self.instance.get_runs()}
        subprocess.run(
            [*command, "-j", "jde_to_mailchimp_sync", "--tags", json.dumps({**tags, NO_RETRY: "0"})],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        [run_id] = {r.run_id for r in self.instance.get_runs()} - before
        return run_id

    def status(self, run_id: str) -> dg.DagsterRunStatus:
        return self.instance.get_run_by_id(run_id).status

    def wait_for(
        self, what: str, check: Callable[[], bool], seconds: float = LIMIT_SECONDS, poll: float = 1.0
    ) -> None:
        deadline = time.monotonic() + seconds
        while not check():
            assert self.daemon.poll() is None, "dagster-daemon exited"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(poll)

    def step_started(self, run_id: str, step: str) -> bool:
        return any(
            record.dagster_event is not None and record.dagster_event.step_key == step
            for record in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        )

    def messages(self, run_id: str) -> list[str]:
        return [record.message for record in self.instance.all_logs(run_id)]

    def logged(self, run_id: str, text: str) -> bool:
        return any(text in message for message in self.messages(run_id))

    def audit(self, sql: str, params: list | None = None) -> list[tuple]:
        """Rows of a query on the audit file, opened read-only (and closed) by this test."""
        with duckdb.connect(str(self.audit_db), read_only=True) as conn:
            return conn.execute(sql, params or []).fetchall()

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


def open_files(pid: int) -> dict[str, int]:
    """The files process `pid` holds open → the access mode of the descriptor (os.O_RDONLY, O_WRONLY
    or O_RDWR, from /proc/<pid>/fdinfo)."""
    held = {}
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            path = str(fd.readlink())
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:  # closed meanwhile
            continue
        flags = next(line.split()[1] for line in info.splitlines() if line.startswith("flags:"))
        held[path] = int(flags, 8) & os.O_ACCMODE
    return held


def exited(pid: int) -> bool:
    """Whether every thread of process `pid` has ended, and its files with them: a killed process's
    main thread turns zombie at once, while the others may still be exiting (and holding its locks)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # collected by its parent
        return True
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return fields["State"].split()[0] == "Z" and int(fields["Threads"]) == 1


@dataclass(frozen=True)
class AuditKill:
    """What a process killed in an audit write held at its death."""

    held: dict[str, int]
    """The audit files it held open → the descriptor's access mode."""
    wal_bytes: int
    """The size of the write-ahead log then."""


def wal_of(audit_db: Path) -> Path:
    return audit_db.with_name(audit_db.name + ".wal")


def kill_in_audit_write(pid: int, audit_db: Path, seconds: float = LIMIT_SECONDS) -> AuditKill:
    """SIGKILL process `pid` in the middle of its next write to the DuckDB audit file.

    DuckDB (checked with 2.0) creates the write-ahead log `<file>.wal` when a connection commits its first
    change and deletes it when that connection closes (the checkpoint); a connection that only reads never
    creates it. So the moment the log appears, a write has begun to commit and its connection is still
    open. The process is stopped there (SIGSTOP: it runs no further instruction), what it holds open is
    read from /proc, and SIGKILL follows: to the process, one SIGKILL at the moment of the stop. Returns
    once the process has exited (its lock on the file gone with it).
    """
    wal = wal_of(audit_db)
    assert not wal.exists(), "an audit write is already in progress"
    deadline = time.monotonic() + seconds
    while not wal.exists():
        assert time.monotonic() < deadline, "no audit write came"
        time.sleep(0.0005)
    os.kill(pid, signal.SIGSTOP)
    try:
        held = {path: mode for path, mode in open_files(pid).items() if path.startswith(str(audit_db))}
        kill = AuditKill(held, wal.stat().st_size)
    finally:
        os.kill(pid, signal.SIGKILL)
    while not exited(pid):
        assert time.monotonic() < deadline, f"pid {pid} survived SIGKILL"
        time.sleep(0.01)
    return kill


def assert_mailchimp_meets_the_contract(bench: Bench) -> None:
    found = expected.parties(bench.jde.url, TODAY)
    assert expected.mismatches(bench.mailchimp, found) == []
    members, customers = expected.mailchimp_state(bench.mailchimp)
    assert len(members) == len(expected.holders(found))  # nothing created twice
    assert len(customers) == len(expected.holders(found))


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    bench = Bench(tmp_path)
    try:
        yield bench
    finally:
        bench.stop()


@pytest.fixture
def big_bench(tmp_path: Path) -> Iterator[Bench]:
    """A demo of 3,000 parties: the first run's `record_pulls` writes ~19,000 rows in six INSERTs, so
    its connection writes for tens of milliseconds after its first commit began."""
    bench = Bench(tmp_path, parties=3000)
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

    waiting = bench.launch(AFTER_START, TODAY)  # every partition after the killed one
    began = time.monotonic()
    bench.wait_for("the dead run to be failed", lambda: bench.status(killed) == dg.DagsterRunStatus.FAILURE)
    bench.wait_for("the queued run", lambda: bench.status(waiting) in (dg.DagsterRunStatus.SUCCESS,))
    assert time.monotonic() - began < 120
    messages = bench.messages(killed)
    assert any("jde_dead_run_sensor" in m and f"pid {worker}" in m for m in messages), messages[-5:]

    rerun = bench.launch(START)
    bench.wait_for("the re-run", lambda: bench.status(rerun) == dg.DagsterRunStatus.SUCCESS)

    assert_mailchimp_meets_the_contract(bench)
    statuses = dict(bench.audit("SELECT run_id, status FROM sync_runs"))
    assert statuses[killed] == "interrupted"
    assert statuses[waiting] == statuses[rerun] == "succeeded"


def test_a_run_worker_killed_in_an_audit_write_leaves_a_readable_audit_and_a_rerun_repairs_it(
    big_bench: Bench,
) -> None:
    """The run worker alone (the process executing the run's steps: in-process executor) is SIGKILLed
    while the first run's `record_pulls` writes the pulled rows into the audit file.

    Only the run worker, unlike the first test: that is what the OOM killer takes (the biggest process)
    and what the issue names, and its recovery differs: the daemon and the code server live on, and the
    code server sees its child die and fails the run, with no restart and no sensor. What is under test is
    the audit file: a writer killed between the start of its first commit and its connection's checkpoint
    leaves a write-ahead log behind, which the next connection must replay (what had committed) or discard
    (what was in flight) before the runs after it can write.

    Why `record_pulls`, and how the moment is found: after jde_extract has logged "reading JDE" (after
    `start_run` closed its connection), the step only reads the audit file until `record_pulls`, so the
    first write-ahead log to appear is that of `record_pulls`' first INSERT (kill_in_audit_write). With
    3,000 parties its six INSERTs (one per JDE table, ~19,000 rows) keep the connection open for tens of
    milliseconds after that, so the kill lands before the last one commits: the killed run's pulls are
    absent or partial. (In practice the log is caught still empty, its first INSERT uncommitted, and the
    killed run has no `jde_pulls` row at all.)
    """
    bench = big_bench
    wal = wal_of(bench.audit_db)
    killed = bench.launch(START)
    bench.wait_for("the run to read JDE", lambda: bench.logged(killed, "reading JDE"), poll=0.02)
    worker = run_process_id(bench.instance, killed)
    assert worker is not None
    kill = kill_in_audit_write(worker, bench.audit_db)
    began = time.monotonic()

    assert kill.held.get(str(bench.audit_db)) == os.O_RDWR  # the connection that writes was open
    assert kill.held.get(str(wal), os.O_RDONLY) != os.O_RDONLY  # and writing its log
    assert wal.exists()  # never checkpointed: the connection never closed
    status = bench.audit("SELECT status FROM sync_runs WHERE run_id = ?", [killed])  # the file opens
    assert status == [("started",)]

    waiting = bench.launch(AFTER_START, TODAY)  # every partition after the killed one
    bench.wait_for("the killed run to be failed", lambda: bench.status(killed) == dg.DagsterRunStatus.FAILURE)
    bench.wait_for("the next run", lambda: bench.status(waiting) == dg.DagsterRunStatus.SUCCESS)
    assert time.monotonic() - began < 120
    assert bench.logged(killed, "was terminated by signal 9 (SIGKILL)")  # failed by its code server
    assert not bench.logged(killed, PULLS_LOGGED)  # record_pulls never returned
    assert bench.logged(waiting, f"run {killed} died without closing its sync_runs row: interrupted")

    rerun = bench.launch(START)
    bench.wait_for("the re-run", lambda: bench.status(rerun) == dg.DagsterRunStatus.SUCCESS)

    assert_mailchimp_meets_the_contract(bench)
    assert not wal.exists()  # replayed, and checkpointed into the file since
    statuses = dict(bench.audit("SELECT run_id, status FROM sync_runs"))
    assert statuses == {killed: "interrupted", waiting: "succeeded", rerun: "succeeded"}
    pulls = bench.audit("SELECT run_id, table_name, count(*) FROM jde_pulls GROUP BY ALL")
    tables = {run: {table for r, table, _ in pulls if r == run} for run in (killed, rerun)}
    assert tables[killed] < tables[rerun], pulls  # the killed write was cut short
    assert bench.audit(ORPHAN_ROWS) == []
    assert bench.audit("SELECT count(*) FROM sync_outcomes WHERE run_id = ?", [killed]) == [(0,)]
    assert bench.audit(OUTCOMES_TWICE) == []  # one outcome per party, target and run
    assert bench.audit(RECORDS_TWICE) == []  # one synced record per Mailchimp record

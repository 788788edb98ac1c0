"""`jde-mc demo`: the embedded default. Both emulators with demo data, and `dagster dev` with automation on.

What it starts, and why that way:
- The JDE AIS and Mailchimp emulators run as threads of this process on free loopback ports, so they
  end with it whatever happens. The JDE one holds `--parties` generated parties and changes `K` of them
  every `S` seconds (`--churn K/S`), stamping UPMJ/UPMT in `JDE_TIMEZONE` (UTC unless set), the zone
  the pipeline reads them in. While that churn runs, the Mailchimp emulator plays the marketer too:
  `marketer` = (1, 60) takes one hand-made action a minute (a contact unsubscribes, COMPANY corrected, a
  connector tag removed, a contact archived, a marketer's own tag added; seeded like the churn), so the
  drift report and `jde-mc history` have something to show. `--churn 0/S` stills both: a demo without
  churn stays as the sync left it.
- `dagster dev` runs as a child in its own process group: Ctrl-C (or SIGTERM) reaches this process
  only, which first ends the runs still executing (`stop_runs`: one line each, no stack trace), then
  forwards SIGINT to the group so that Dagster stops its webserver, daemon and code server cleanly,
  then kills whatever is left of the group. No orphan survives a normal exit.
- The child's working directory is the demo's Dagster home: `dagster dev` loads a `.env` file from its
  working directory over the environment, and a `.env` written for real systems must not point the
  demo at them.

Every start is a clean slate: the emulators start from fresh data, so the demo's audit database
(`data/demo/`, its synced state would claim contacts the new Mailchimp emulator has never seen) and
its Dagster instance (`.dagster_home/`, the sensor's cursor would hide the new JDE data) are
recreated. Both paths are the demo's own; a real setup points `JDE_MC_AUDIT_DB` and `DAGSTER_HOME`
elsewhere.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import requests

from jde_mc_pipeline.defs import set_pool_limits
from jde_mc_pipeline.defs.automation.dead_runs import run_process_id
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp

START_DAYS_BACK = 30
"""`JDE_START_DATE` is this many days before today unless the environment sets it."""
RUNNING = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
GRACEFUL_STOP_SECONDS = 30.0
"""How long `dagster dev` may take to stop its children after SIGINT before the group is killed."""
WORKSPACE_YAML = """\
load_from:
  - python_module:
      module_name: jde_mc_pipeline.definitions
      location_name: jde_mc_pipeline
"""


@dataclass(frozen=True)
class DemoOptions:
    """The flags of `jde-mc demo`."""

    dagster_port: int = 3000
    parties: int = 1000
    churn: tuple[int, float] = (5, 30.0)
    seed: int = 0
    marketer: tuple[int, float] = (1, 60.0)
    """K hand-made Mailchimp changes every S seconds, while the JDE churn changes something."""
    root: Path = field(default_factory=Path.cwd)
    """Folder holding `data/demo/` and `.dagster_home/` (the working directory)."""


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its state, under `root`."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data" / "demo"

    @property
    def audit_db(self) -> Path:
        return self.data / "audit_trail.duckdb"

    @property
    def staging(self) -> Path:
        return self.data / "staging"

    @property
    def env_file(self) -> Path:
        return self.data / "demo.env"

    @property
    def dagster_home(self) -> Path:
        return self.root / ".dagster_home"


def project_file(name: str) -> Path:
    """A file of the project checkout (dagster.yaml): next to the package, else in the working directory."""
    for folder in (Path(__file__).resolve().parents[1], Path.cwd()):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} not found next to the jde_mc_pipeline package or in {Path.cwd()}")


def prepare_state(paths: DemoPaths) -> None:
    """Recreate the demo's data folder and Dagster home (see the module doc for why)."""
    instance_config = project_file("dagster.yaml")
    for folder in (paths.data, paths.dagster_home):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    shutil.copyfile(instance_config, paths.dagster_home / "dagster.yaml")
    (paths.dagster_home / "workspace.yaml").write_text(WORKSPACE_YAML, encoding="utf-8")
    with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        set_pool_limits(instance)


def marketer_of(options: DemoOptions) -> tuple[int, float] | None:
    """The Mailchimp emulator's `marketer`: none when it or the JDE churn changes nothing (module doc)."""
    return options.marketer if options.churn[0] > 0 and options.marketer[0] > 0 else None


def start_emulators(options: DemoOptions, timezone: str) -> tuple[JdeEmulatorServer, MailchimpEmulatorServer]:
    """Both emulators, started on free loopback ports (JDE with demo data and churn)."""
    zone = ZoneInfo(timezone)

    def jde_clock() -> dt.datetime:
        return dt.datetime.now(zone).replace(tzinfo=None, microsecond=0)

    jde = build_jde(demo=options.parties, seed=options.seed, churn=options.churn, clock=jde_clock)
    mailchimp = build_mailchimp(seed=options.seed, marketer=marketer_of(options))
    jde.start()
    try:
        mailchimp.start()
    except BaseException:
        jde.stop()
        raise
    return jde, mailchimp


DEMO_SEGMENT_FIELDS = json.dumps(
    [
        {"column": "F0101.AC01", "tag_prefix": "JDE Region: "},
        {"column": "F0101.AC02", "merge_field": "CUSTTYPE", "type": "dropdown", "name": "Customer type"},
        {"column": "F0101.AC03", "merge_field": "INDUSTRY", "name": "Industry"},
    ]
)
"""The demo's segment fields (docs/mapping.md): the region as a tag, the customer class as a dropdown and
the industry as text, from the emulator's user-defined codes, so Mailchimp has segments to show."""


def demo_settings(
    jde: JdeEmulatorServer,
    mailchimp: MailchimpEmulatorServer,
    paths: DemoPaths,
    environ: Mapping[str, str],
    today: dt.date,
) -> dict[str, str]:
    """The variables `dagster dev` needs for the emulators (docs/configuration.md)."""
    identity = jde.app.identity
    return {
        "JDE_AIS_URL": jde.url,
        "JDE_USERNAME": identity.username,
        "JDE_PASSWORD": identity.password,
        "JDE_ENVIRONMENT": identity.environment,
        "JDE_TIMEZONE": environ.get("JDE_TIMEZONE") or "UTC",
        "JDE_START_DATE": environ.get("JDE_START_DATE")
        or (today - dt.timedelta(days=START_DAYS_BACK)).isoformat(),
        "MAILCHIMP_API_KEY": mailchimp.api_key,
        "MAILCHIMP_API_URL": mailchimp.api_url,
        "MAILCHIMP_LIST_ID": mailchimp.list_id,
        "JDE_MC_AUDIT_DB": str(paths.audit_db),
        "JDE_MC_STAGING_DIR": str(paths.staging),
        "DAGSTER_HOME": str(paths.dagster_home),
        "JDE_MC_AUTOMATION": "running",
        "JDE_MC_SEGMENT_FIELDS": environ.get("JDE_MC_SEGMENT_FIELDS") or DEMO_SEGMENT_FIELDS,
    }


def write_env_file(path: Path, settings: Mapping[str, str]) -> None:
    """The settings as `export` lines, so a second shell can run the dagster CLI against the demo (and
    the emulators' control URLs, which the README's examples use). It puts the demo's own commands
    (`dagster`, `jde-mc`: the virtual environment's) first on the PATH too: a new shell has no
    virtual environment active, and `. data/demo/demo.env` is all the README asks of it."""
    lines = [f"export {name}='{value}'" for name, value in settings.items()]
    lines.append(f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def dagster_dev_command(paths: DemoPaths, port: int) -> list[str]:
    script = Path(sys.executable).with_name("dagster")
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "dagster"]
    workspace = str(paths.dagster_home / "workspace.yaml")
    return [*launcher, "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)]


def wait_until_ready(process: subprocess.Popen[Any], url: str) -> bool:
    """Poll the webserver until it answers; False when `dagster dev` exited first."""
    while process.poll() is None:
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def stop_runs(paths: DemoPaths, group: int) -> list[str]:
    """End the runs still executing, quietly; one line per run it interrupted.

    Why not SIGINT, like the rest of the group: a run worker interrupted by a signal reports it as the
    run's failure, at ERROR with a stack trace, though nothing went wrong (the demo is being stopped,
    and its next start recreates the instance and the audit database anyway). So each run is marked
    canceled first (the code server then takes its process's end for no crash either), and its process
    and the processes it started (the compute-log tails) are killed. Only processes of `dagster dev`'s
    group are touched: a CLI run from another shell is not the demo's.
    """
    stopped = []
    with dg.DagsterInstance.from_config(str(paths.dagster_home)) as instance:
        for record in instance.get_run_records(filters=dg.RunsFilter(statuses=RUNNING)):
            run = record.dagster_run
            pid = run_process_id(instance, run.run_id)
            if pid is None or _group_of(pid) != group:
                continue
            instance.report_run_canceled(run, message="jde-mc demo stopped while the run executed")
            for member in _process_tree(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(member, signal.SIGKILL)
            stopped.append(f"jde-mc demo: interrupted run {run.run_id} ({run.job_name}) while it executed")
    return stopped


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _process_tree(root: int) -> list[int]:
    """`root` first, then every process below it (from /proc, where the parent is field 4 of
    /proc/<pid>/stat; only `root` without /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree = [root]
    for pid in tree:  # grows while it is walked: breadth first
        tree.extend(children.get(pid, []))
    return tree


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGINT to `dagster dev`'s group, a grace period, then SIGTERM/SIGKILL for anything left."""
    group = process.pid
    if process.poll() is None:
        _signal_group(group, signal.SIGINT)
        try:
            process.wait(timeout=GRACEFUL_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait()
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not _signal_group(group, sig):
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _signal_group(group, 0):
            time.sleep(0.1)


def _signal_group(group: int, sig: int) -> bool:
    """Send `sig` to the process group; False when the group has no process left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def banner(
    jde: JdeEmulatorServer,
    mailchimp: MailchimpEmulatorServer,
    options: DemoOptions,
    paths: DemoPaths,
    settings: Mapping[str, str],
    ui_url: str,
    seconds: float,
) -> str:
    """What is running and what to look at (no secrets: the credentials are in the env file)."""
    count, every = options.churn
    acting = marketer_of(options)
    marketer = f"{acting[0]} marketer action(s) every {acting[1]:g} s" if acting else "no marketer"
    return f"""
jde-mc demo is running (ready in {seconds:.1f} s).
  Dagster UI              {ui_url}
  JDE AIS emulator        {jde.url}  ({options.parties} demo parties, {count} changed every {every:g} s)
  Mailchimp API           {mailchimp.api_url}  (audience {mailchimp.list_id}, {marketer})
  emulator controls       {jde.url}/_emulator/  and  {mailchimp.url}/_emulator/  (faults, stats, rows,
                          the marketer's actions: {mailchimp.url}/_emulator/marketer)
  audit database          {paths.audit_db}
  settings                {paths.env_file}  (`. {paths.env_file}` in another shell to use the dagster CLI)
What to look at in the UI:
  - Automation: jde_change_sensor, the two schedules and the replay and dead-run sensors are running.
    The change sensor's first tick requests the initial load: one run from partition
    {settings["JDE_START_DATE"]} (which holds all history) to the last changed day; later ticks request
    the UPMJ days the churn changes.
  - Runs: each jde_to_mailchimp_sync run (tag jde_mc/partitions: the days it covered), its steps, logs
    and asset checks.
  - Assets → Lineage: the six jde/F… tables → map_parties (parties, payloads, decided outcomes,
    departures) → mailchimp_list_member_sync → mailchimp_ecommerce_customer_sync; mailchimp_dry_run
    beside them. A sync asset's Overview → Metadata → Plots draws its outcomes per day.
  - Jobs → jde_to_mailchimp_dry_run: what a sync would do, writing nothing to Mailchimp.
Make Mailchimp fail (then replay with Jobs → mailchimp_replay once it is healed):
  curl -X POST -H 'Content-Type: application/json' -d '{{"fault_rate": 1.0, "kinds": ["503"]}}' \\
    {mailchimp.url}/_emulator/faults
  curl -X POST -H 'Content-Type: application/json' -d '{{"fault_rate": 0}}' {mailchimp.url}/_emulator/faults
Ctrl-C stops the emulators and Dagster.
"""


def run_demo(options: DemoOptions) -> int:
    """Start everything, serve in the foreground until interrupted, stop everything. Returns the exit code."""
    started = time.monotonic()
    paths = DemoPaths(options.root.resolve())
    timezone = os.environ.get("JDE_TIMEZONE") or "UTC"
    prepare_state(paths)
    # SIGINT too: a shell starting the demo in the background leaves SIGINT ignored, and Python then
    # never turns it into KeyboardInterrupt.
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in signals}
    jde = mailchimp = process = None
    try:
        jde, mailchimp = start_emulators(options, timezone)
        today = dt.datetime.now(ZoneInfo(timezone)).date()
        settings = demo_settings(jde, mailchimp, paths, os.environ, today)
        controls = {"JDE_EMULATOR_CONTROL": f"{jde.url}/_emulator",
                    "MAILCHIMP_EMULATOR_CONTROL": f"{mailchimp.url}/_emulator"}  # fmt: skip
        write_env_file(paths.env_file, {**settings, **controls})
        ui_url = f"http://127.0.0.1:{options.dagster_port}"
        process = subprocess.Popen(
            dagster_dev_command(paths, options.dagster_port),
            cwd=paths.dagster_home,
            env={**os.environ, **settings},
            start_new_session=True,
        )
        if not wait_until_ready(process, ui_url):
            print(f"jde-mc demo: dagster dev exited with code {process.returncode}", file=sys.stderr)
            return process.returncode or 1
        seconds = time.monotonic() - started
        print(banner(jde, mailchimp, options, paths, settings, ui_url, seconds), flush=True)
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        if process is not None:
            try:
                for line in stop_runs(paths, process.pid) if process.poll() is None else []:
                    print(line, flush=True)
            finally:
                stop_process_group(process)
        for server in (mailchimp, jde):
            if server is not None:
                server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        print("jde-mc demo stopped.", flush=True)


def main(options: Mapping[str, Any]) -> int:
    """`jde-mc demo` with the flags the user gave (keys: dagster_port, parties, churn, seed)."""
    return run_demo(DemoOptions(**options))

"""`jde-mc demo` as a user runs it: a subprocess that starts both emulators and `dagster dev`. One demo
serves the module, in order: what it starts, the documentation's command-line examples run against it (its
own dates, its own control URLs) in a shell that has only what the README says to do, the audit queries of
docs/audit.md, the UI in a real browser, and last SIGINT (Ctrl-C) while a run executes, which must stop
everything it started without a stack trace.

The demo runs without churn (`--churn 0/30`) so that the replay walkthrough, which renames one customer,
is the only change a run can meet. The sensor ticks once (the initial load) and the schedule not at all
while the module runs: a run of theirs taking the Mailchimp pool during the walkthrough's outage would
make the walkthrough's own run wait for the heal, and its failures, which the walkthrough promises, would
not happen.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import requests
from playwright import sync_api

from jde_mc_pipeline_tests.automation.readme import audit_queries, readme_example

pytestmark = pytest.mark.real_clock  # the demo runs on the real day by design, under `dagster dev`

READY = "jde-mc demo is running"
STARTUP_LIMIT_SECONDS = 240
RUN_LIMIT_SECONDS = 300
LOCATION = '{repositoryName: "__repository__", repositoryLocationName: "jde_mc_pipeline"}'
SENSORS = f"""{{ sensorsOrError(repositorySelector: {LOCATION}) {{ __typename
  ... on Sensors {{ results {{ name sensorState {{ status }} }} }} }} }}"""
SCHEDULES = f"""{{ schedulesOrError(repositorySelector: {LOCATION}) {{ __typename
  ... on Schedules {{ results {{ name scheduleState {{ status }} }} }} }} }}"""
RUNS = """{ runsOrError(limit: 100) { ... on Runs { results { runId jobName status
  tags { key value } } } } }"""
LAUNCH = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
UNFINISHED = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING", "MANAGED"}
CHROMIUM = "/usr/bin/chromium"
QUIET_AUTOMATION = {"JDE_MC_SENSOR_INTERVAL_SECONDS": "3600", "JDE_MC_SCHEDULE_CRON": "0 0 1 1 *"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


@dataclass
class Demo:
    process: subprocess.Popen
    folder: Path
    log: Path
    ui: str
    jde_control: str
    mailchimp_control: str

    def settings(self) -> dict[str, str]:
        """demo.env as a mapping (what `. data/demo/demo.env` exports)."""
        text = (self.folder / "data" / "demo" / "demo.env").read_text()
        return dict(re.findall(r"^export (\w+)='(.*)'$", text, flags=re.MULTILINE))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(root: int) -> set[int]:
    """Every process below `root`, from /proc (the parent is field 4 of /proc/<pid>/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for_output(log: Path, process: subprocess.Popen, text: str) -> str:
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while text not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    output = log.read_text()
    assert text in output, output[-3000:]
    return output


def graphql(ui: str, query: str) -> dict:
    return requests.post(f"{ui}/graphql", json={"query": query}, timeout=30).json()["data"]


def runs(ui: str) -> list[dict]:
    return graphql(ui, RUNS)["runsOrError"]["results"]


def wait_for_runs(ui: str, job: str | None = None, at_least: int = 0) -> list[dict]:
    """The runs (of `job`) once none is unfinished and at least `at_least` exist."""
    deadline = time.monotonic() + RUN_LIMIT_SECONDS
    while True:
        found = [run for run in runs(ui) if job is None or run["jobName"] == job]
        if len(found) >= at_least and not any(run["status"] in UNFINISHED for run in found):
            return found
        assert time.monotonic() < deadline, f"runs still unfinished: {found}"
        time.sleep(2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    log = folder / "demo.log"
    command = [str(Path(sys.executable).with_name("jde-mc")), "demo", "--dagster-port", str(port)]
    env = {k: v for k, v in os.environ.items() if k not in ("JDE_START_DATE", "DAGSTER_HOME")}
    env |= QUIET_AUTOMATION
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--parties", "200", "--churn", "0/30"],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        output = wait_for_output(log, process, READY)
        controls = re.search(r"emulator controls\s+(\S+)/\s+and\s+(\S+)/\s", output)
        yield Demo(process, folder, log, f"http://127.0.0.1:{port}", *controls.groups())
    finally:
        if process.poll() is None:  # a test failed before Ctrl-C: stop it the way a user would
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                process.kill()


def test_demo_starts_both_emulators_and_dagster_with_automation_running(demo: Demo) -> None:
    assert requests.get(f"{demo.ui}/server_info", timeout=10).ok
    assert requests.get(f"{demo.jde_control}/stats", timeout=10).ok
    assert requests.get(f"{demo.mailchimp_control}/stats", timeout=10).ok
    settings = demo.settings()
    assert settings["JDE_EMULATOR_CONTROL"] == demo.jde_control
    assert settings["MAILCHIMP_EMULATOR_CONTROL"] == demo.mailchimp_control
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while graphql(demo.ui, SENSORS)["sensorsOrError"]["__typename"] != "Sensors":
        assert time.monotonic() < deadline, "the code location did not load"
        time.sleep(1)
    sensors = graphql(demo.ui, SENSORS)["sensorsOrError"]["results"]
    schedules = graphql(demo.ui, SCHEDULES)["schedulesOrError"]["results"]
    assert {s["name"]: s["sensorState"]["status"] for s in sensors} == {
        "jde_change_sensor": "RUNNING",
        "jde_dead_run_sensor": "RUNNING",
        "mailchimp_replay_sensor": "RUNNING",
    }
    assert {s["name"]: s["scheduleState"]["status"] for s in schedules} == {
        "jde_to_mailchimp_schedule": "RUNNING",
        "jde_scope_reconciliation_schedule": "RUNNING",
        "mailchimp_drift_schedule": "RUNNING",
    }
    assert (demo.folder / ".dagster_home" / "dagster.yaml").is_file()


def jde_today(demo: Demo) -> str:
    """Today in the demo's JDE time zone, as the README's examples compute it (`date`)."""
    zone = {"TZ": demo.settings()["JDE_TIMEZONE"]}
    done = subprocess.run(["date", "+%F"], env=zone, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run_example(demo: Demo, name: str) -> str:
    """One of the README's `sh` blocks, in bash, from the demo's folder, in a shell that has only what the
    README says to do: no setting of the demo and no virtual environment on the PATH (the block's
    `. data/demo/demo.env` brings both, as it must for a user's second shell)."""
    venv = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JDE_", "MAILCHIMP_", "DAGSTER_"))}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv)
    script = "set -euo pipefail\n" + readme_example(name)
    done = subprocess.run(
        ["bash", "-c", script], cwd=demo.folder, env=env, capture_output=True, text=True, timeout=600
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def test_the_readme_examples_run_against_the_demo(demo: Demo) -> None:
    """The README's two runs, docs/operations.md's replay walkthrough, then docs/audit.md's queries on what
    they recorded."""
    settings = demo.settings()
    start, today = settings["JDE_START_DATE"], jde_today(demo)
    # The sensor's first tick requests the initial load. Still writing when the walkthrough makes Mailchimp
    # fail, that run retries, then writes what it read before the rename once Mailchimp is back, after
    # the replay: the member read back had the old name (docs/operations.md tells users the same).
    wait_for_runs(demo.ui, "jde_to_mailchimp_sync", at_least=1)

    backfill = run_example(demo, "range")
    assert re.search(rf"run \S+ over {start}\.\.\.{today} recorded in sync_runs as succeeded", backfill)
    one_day = run_example(demo, "today")
    assert re.search(rf"run \S+ over {today}\.\.\.{today} recorded in sync_runs as succeeded", one_day)

    walkthrough = run_example(demo, "replay")
    assert "list_member:failed" in walkthrough and "ecommerce_customer:failed" in walkthrough
    assert re.search(r"replayed \d+ failed writes of every run", walkthrough), walkthrough[-3000:]
    assert "Consolidated Logistics Group" in walkthrough  # the last command reads the member back

    wait_for_runs(demo.ui)  # a sensor run may still be writing the same change
    failing_run = re.search(r"run (\S+) over \S+ recorded in sync_runs as succeeded: .*failed", walkthrough)
    assert failing_run, walkthrough[-3000:]
    audit_file = demo.folder / "data" / "demo" / "audit_trail.duckdb"
    with duckdb.connect(str(audit_file), read_only=True) as audit:
        answers = [audit.execute(q.replace("'R'", f"'{failing_run[1]}'")).fetchall() for q in audit_queries()]
    assert answers[0] and answers[1], "docs/audit.md, query 1: the history of AN8 1001"
    assert answers[2], "docs/audit.md, query 2: what failed in the walkthrough's run"
    api = settings["MAILCHIMP_API_URL"].replace("{dc}", settings["MAILCHIMP_API_KEY"].rsplit("-", 1)[1])
    auth = ("anystring", settings["MAILCHIMP_API_KEY"])
    listed = requests.get(
        f"{api}/lists/{settings['MAILCHIMP_LIST_ID']}/members", params={"count": 1000}, auth=auth, timeout=30
    ).json()["members"]
    [member] = [m for m in listed if m["merge_fields"]["JDEAN8"] == "1001"]
    assert member["merge_fields"]["COMPANY"] == "Consolidated Logistics Group"
    assert member["status"] == "subscribed"
    assert [m["email_address"] for m in listed if m["status"] == "transactional"] == []
    customer_id = hashlib.md5(member["email_address"].encode()).hexdigest()
    store = requests.get(f"{api}/ecommerce/stores", auth=auth, timeout=30).json()["stores"][0]["id"]
    customer = requests.get(f"{api}/ecommerce/stores/{store}/customers/{customer_id}", auth=auth, timeout=30)
    assert customer.json()["company"] == "Consolidated Logistics Group"


def test_the_ui_shows_the_graph_launches_a_dry_run_and_plots_outcomes(demo: Demo) -> None:
    """In Chromium (Debian's, driven by Playwright): the asset graph (its screenshot, copied to
    docs/asset-graph.png, is the README's picture), a dry run launched from the job page, a sync asset's
    metadata plots and the runs list. Screenshots go to artifacts/browser/."""
    assert Path(CHROMIUM).is_file(), "make test installs Debian's chromium (apt-get install chromium)"
    wait_for_runs(demo.ui, "jde_to_mailchimp_sync", at_least=1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.set_default_timeout(60_000)
            page.goto(f"{demo.ui}/asset-groups", wait_until="networkidle")
            page.get_by_role("button", name="panel_show_right", exact=True).click()
            page.mouse.click(700, 300, button="right")
            page.get_by_role("menuitem", name="Expand all groups").click()
            sync_api.expect(page.get_by_text("decided_outcomes", exact=True).first).to_be_visible()
            zoom_out = page.locator("button:has([aria-label=zoom_out])").bounding_box()
            page.mouse.click(zoom_out["x"] + 16, zoom_out["y"] - 50)  # the zoom slider, near its bottom
            page.wait_for_timeout(1500)
            for name in ("F0101", "F0111", "parties", "mailchimp_dry_run"):
                sync_api.expect(page.get_by_text(name, exact=True).first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "asset-graph.png")

            page.set_viewport_size({"width": 1600, "height": 1100})
            page.goto(
                f"{demo.ui}/locations/jde_mc_pipeline/jobs/jde_to_mailchimp_dry_run", wait_until="networkidle"
            )
            page.get_by_role("button", name="Materialize all").click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_role("button", name="Latest", exact=True).click()
            page.screenshot(path=ARTIFACTS / "dry-run-launch.png")
            dialog.get_by_role("button", name="Launch 1 run").click()
            [dry_run] = wait_for_runs(demo.ui, "jde_to_mailchimp_dry_run", at_least=1)
            assert dry_run["status"] == "SUCCESS"
            page.goto(f"{demo.ui}/runs/{dry_run['runId']}", wait_until="networkidle")
            sync_api.expect(page.get_by_text("nothing written").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "dry-run-run.png")
            page.goto(f"{demo.ui}/assets/mailchimp_dry_run?view=overview", wait_until="networkidle")
            sync_api.expect(page.get_by_text("likely_refusals", exact=True)).to_be_visible()
            sync_api.expect(page.get_by_text("run_member_unchanged", exact=True)).to_be_visible()
            page.screenshot(path=ARTIFACTS / "dry-run-report.png", full_page=True)

            page.goto(f"{demo.ui}/assets/mailchimp_list_member_sync?view=overview", wait_until="networkidle")
            page.get_by_role("button", name="Plots").click()
            sync_api.expect(page.get_by_text("created", exact=True).first).to_be_visible()
            sync_api.expect(page.get_by_text("unchanged", exact=True).first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "member-sync-plots.png", full_page=True)

            page.goto(f"{demo.ui}/runs", wait_until="networkidle")
            sync_api.expect(page.get_by_text("jde_mc/partitions").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "runs.png")
        finally:
            browser.close()


def launch_executing_run(demo: Demo) -> str:
    """A sync of today launched from the UI's API and slowed by JDE's latency; its id once its first step
    executes (its first log line is in the demo's output)."""
    today = jde_today(demo)
    requests.post(f"{demo.jde_control}/faults", json={"latency_ms": 2000}, timeout=10).raise_for_status()
    params = {
        "selector": {"repositoryLocationName": "jde_mc_pipeline", "repositoryName": "__repository__",
                     "jobName": "jde_to_mailchimp_sync"},
        "runConfigData": {},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": today}]},
    }  # fmt: skip
    reply = requests.post(
        f"{demo.ui}/graphql", json={"query": LAUNCH, "variables": {"params": params}}, timeout=30
    )
    launched = reply.json()["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + RUN_LIMIT_SECONDS
    while not re.search(rf"{run_id} - jde_extract - reading JDE", demo.log.read_text()):
        assert time.monotonic() < deadline, f"run {run_id} did not start executing"
        time.sleep(0.5)
    return run_id


def test_ctrl_c_stops_everything_the_demo_started(demo: Demo) -> None:
    """Ctrl-C while a run executes: the demo says in one line that it interrupted the run, and prints no
    stack trace and no error (the run is not a failure: the demo was stopped)."""
    run_id = launch_executing_run(demo)
    started = descendants(demo.process.pid)
    assert len(started) >= 3  # dagster dev, its webserver, daemon and code server
    before = len(demo.log.read_text())

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=90) == 0
    stopping = demo.log.read_text()[before:]
    assert "jde-mc demo stopped." in stopping
    assert f"jde-mc demo: interrupted run {run_id} (jde_to_mailchimp_sync) while it executed" in stopping
    assert "Traceback" not in stopping and not re.search(r"\bERROR\b", stopping), stopping[-4000:]
    assert [pid for pid in started if alive(pid)] == []
    mailchimp = demo.mailchimp_control.removesuffix("/_emulator")
    for url in (demo.ui, demo.jde_control.removesuffix("/_emulator"), mailchimp):
        try:
            requests.get(url, timeout=2)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{url} still answers after Ctrl-C")

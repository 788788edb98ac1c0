"""`jde-mc demo` as a user runs it: a subprocess that starts both emulators and `dagster dev`; then SIGINT
(Ctrl-C) must stop everything it started."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

READY = "jde-mc demo is running"
STARTUP_LIMIT_SECONDS = 240
LOCATION = '{repositoryName: "__repository__", repositoryLocationName: "jde_mc_pipeline"}'
SENSORS = f"""{{ sensorsOrError(repositorySelector: {LOCATION}) {{ __typename
  ... on Sensors {{ results {{ name sensorState {{ status }} }} }} }} }}"""
SCHEDULES = f"""{{ schedulesOrError(repositorySelector: {LOCATION}) {{ __typename
  ... on Schedules {{ results {{ name scheduleState {{ status }} }} }} }} }}"""


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


def test_demo_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    command = [str(Path(sys.executable).with_name("jde-mc")), "demo", "--dagster-port", str(port)]
    env = {k: v for k, v in os.environ.items() if k not in ("JDE_START_DATE", "DAGSTER_HOME")}
    with log.open("w") as out:
        demo = subprocess.Popen(
            [*command, "--parties", "200"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        output = wait_for_output(log, demo, READY)
        ui = f"http://127.0.0.1:{port}"
        jde_url = re.search(r"JDE AIS emulator\s+(http://\S+)", output).group(1)
        controls = re.search(r"emulator controls\s+(\S+)/\s+and\s+(\S+)/\s", output)
        jde_control, mailchimp_control = controls.groups()
        mailchimp_url = mailchimp_control.removesuffix("/_emulator")
        assert requests.get(f"{ui}/server_info", timeout=10).ok
        assert requests.get(f"{jde_control}/stats", timeout=10).ok
        assert requests.get(f"{mailchimp_control}/stats", timeout=10).ok
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while graphql(ui, SENSORS)["sensorsOrError"]["__typename"] != "Sensors":
            assert time.monotonic() < deadline, "the code location did not load"
            time.sleep(1)
        sensors = graphql(ui, SENSORS)["sensorsOrError"]["results"]
        schedules = graphql(ui, SCHEDULES)["schedulesOrError"]["results"]
        assert {s["name"]: s["sensorState"]["status"] for s in sensors} == {"jde_change_sensor": "RUNNING"}
        assert {s["name"]: s["scheduleState"]["status"] for s in schedules} == {
            "jde_to_mailchimp_schedule": "RUNNING",
            "jde_scope_reconciliation_schedule": "RUNNING",
        }
        assert (tmp_path / ".dagster_home" / "dagster.yaml").is_file()
        started = descendants(demo.pid)
        assert len(started) >= 3  # dagster dev, its webserver, daemon and code server

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0
    finally:
        if demo.poll() is None:
            demo.kill()
    assert "jde-mc demo stopped." in log.read_text()
    assert [pid for pid in started if alive(pid)] == []
    for url in (ui, jde_url, mailchimp_url):
        try:
            requests.get(url, timeout=2)
        except requests.ConnectionError:
            continue
        raise AssertionError(f"{url} still answers after Ctrl-C")

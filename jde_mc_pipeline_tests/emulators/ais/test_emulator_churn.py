"""Demo data and churn as the AIS emulator serves them (the generator itself is tested on its own)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime

import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline_tests.jde.conftest import AisCaller

NOW = datetime(2025, 11, 27, 12, 34, 56)


def _count(caller, table_name, **fields):
    response = caller.data(targetName=table_name, dataServiceType="COUNT", **fields)
    assert response.status_code == 200, response.text
    return response.json()[f"fs_DATABROWSE_{table_name}"]["data"]["gridData"]["summary"]["records"]


def _stamped_now(table_name):
    """A query for rows whose UPMJ/UPMT are exactly NOW (today, 12:34:56)."""
    return {
        "condition": [
            {
                "controlId": f"{table_name}.UPMJ",
                "operator": "EQUAL",
                "value": [{"content": "0", "specialValueId": "TODAY"}],
            },
            {"controlId": f"{table_name}.UPMT", "operator": "EQUAL", "value": [{"content": "123456"}]},
        ]
    }


def test_demo_parties_are_served(jde_emulator_factory):
    server = jde_emulator_factory(demo=40, seed=5, clock=ManualClock(NOW))
    caller = AisCaller(server.url)
    assert _count(caller, "F0101") == 40
    assert all(_count(caller, name) > 0 for name in ("F03012", "F0116", "F01151", "F0115", "F0111"))


def test_churn_changes_parties_and_stamps_them_now(jde_emulator_factory):
    server = jde_emulator_factory(demo=40, seed=5, clock=ManualClock(NOW), churn=(4, 0.05))
    caller = AisCaller(server.url)
    deadline = time.monotonic() + 20
    stats = {}
    while time.monotonic() < deadline:
        stats = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
        if stats.get("churn_rounds", 0) >= 2:
            break
        time.sleep(0.05)
    assert stats.get("churn_rounds", 0) >= 2
    assert stats["churn_rows"] > 0
    tables = ("F0101", "F03012", "F0116", "F01151", "F0115", "F0111")
    assert sum(_count(caller, name, query=_stamped_now(name)) for name in tables) > 0


def test_cli_defaults_to_1000_demo_parties():
    command = [sys.executable, "-m", "jde_mc_pipeline.cli", "emulate", "jde", "--port", "0", "--seed", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert _count(AisCaller(url), "F0101") == 1000
    finally:
        process.terminate()
        process.wait(timeout=10)

"""The code location: what it holds, that its two ways of loading agree, that two configurations load in
one process, and that the dagster and dg command lines load it (or say clearly why not)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import requests

from jde_mc_pipeline.definitions import build_definitions, defs
from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.resources import resources_from_env
from jde_mc_pipeline_tests.clock import on_machine_clock
from jde_mc_pipeline_tests.deployment import DEPLOYMENT, START_DATE

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SYNC_ASSETS = {
    "jde/F0101",
    "jde/F03012",
    "jde/F0116",
    "jde/F01151",
    "jde/F0115",
    "jde/F0111",
    "parties",
    "mailchimp_member_payloads",
    "mailchimp_customer_payloads",
    "decided_outcomes",
    "mailchimp_departures",
    "mailchimp_list_member_sync",
    "mailchimp_ecommerce_customer_sync",
}
JOBS = {"jde_to_mailchimp_sync", "jde_to_mailchimp_dry_run", "mailchimp_replay", "jde_scope_reconciliation"}


def _names(definitions: dg.Definitions) -> dict[str, set[str]]:
    """What a person sees of a code location: assets, checks, jobs, schedules, sensors, resources."""
    graph = definitions.resolve_asset_graph()
    repository = definitions.get_repository_def()
    return {
        "assets": {key.to_user_string() for key in graph.get_all_asset_keys()},
        "checks": {f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys},
        "jobs": {job.name for job in repository.get_all_jobs() if not job.name.startswith("__")},
        "schedules": {schedule.name for schedule in repository.schedule_defs},
        "sensors": {sensor.name for sensor in repository.sensor_defs},
        "resources": set(definitions.resources or {}),
    }


def test_the_code_location_holds_the_pipeline() -> None:
    definitions = build_definitions(DEPLOYMENT, resources_from_env({}))
    dg.Definitions.validate_loadable(definitions)

    names = _names(definitions)
    assert names["assets"] == SYNC_ASSETS | {"mailchimp_dry_run", "mailchimp_drift"}
    assert names["checks"] == {
        "parties:schema_valid",
        "decided_outcomes:quarantine_rate",
        "mailchimp_list_member_sync:rejection_rate",
        "mailchimp_ecommerce_customer_sync:rejection_rate",
        "mailchimp_list_member_sync:reconciliation",
        "mailchimp_ecommerce_customer_sync:reconciliation",
        "mailchimp_drift:drift_findings_under_threshold",
    }
    assert names["jobs"] == JOBS | {"mailchimp_drift_job", "record_history"}
    assert names["schedules"] == {
        "jde_to_mailchimp_schedule",
        "jde_scope_reconciliation_schedule",
        "mailchimp_drift_schedule",
    }
    assert names["sensors"] == {"jde_change_sensor", "jde_dead_run_sensor", "mailchimp_replay_sensor"}
    assert names["resources"] == {"jde", "mailchimp", "audit", "sync_settings", "staging"}

    graph = definitions.resolve_asset_graph()
    sync = definitions.resolve_job_def("jde_to_mailchimp_sync")
    assert {key.to_user_string() for key in sync.asset_layer.selected_asset_keys} == SYNC_ASSETS
    dry_run = definitions.resolve_job_def("jde_to_mailchimp_dry_run").asset_layer.selected_asset_keys
    assert {key.to_user_string() for key in dry_run} == {key for key in SYNC_ASSETS if "sync" not in key} | {
        "mailchimp_dry_run"
    }
    drift = graph.get(dg.AssetKey("mailchimp_drift"))  # reads the audience as it is now: no partitions
    assert drift.partitions_def is None and drift.group_name == "drift" and set(drift.pools) == {"mailchimp"}
    # `dagster asset materialize --select '*' --partition-range` refuses any selected asset without it
    assert drift.backfill_policy == dg.BackfillPolicy.single_run()
    for key in graph.get_all_asset_keys() - {drift.key}:
        node = graph.get(key)
        assert node.partitions_def.get_first_partition_key() == START_DATE.isoformat(), key
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
        assert node.group_name in {"jde_raw", "mapping", "mailchimp"} and node.description, key
        assert node.owners == ["team:data-engineering"], key
        assert "dagster/code_references" in node.metadata, key
    for key in ("mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync", "mailchimp_dry_run"):
        assert set(graph.get(dg.AssetKey(key)).pools) == {"mailchimp"}, key
    assert not graph.get(dg.AssetKey("parties")).pools


def test_loading_the_defs_folder_gives_the_same_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """`defs` (dg's autoload of every part under defs/, from the environment) and `build_definitions`
    (the parts built from values) are one code location."""
    monkeypatch.setenv("JDE_START_DATE", START_DATE.isoformat())

    loaded = defs()

    assert _names(loaded) == _names(build_definitions(DEPLOYMENT, resources_from_env({})))
    partitions = loaded.resolve_asset_graph().get(dg.AssetKey("parties")).partitions_def
    assert partitions.get_first_partition_key() == START_DATE.isoformat()


def test_two_configurations_load_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is read at import: each load reads the configuration of its moment."""
    monkeypatch.setenv("JDE_START_DATE", "2026-01-05")
    monkeypatch.setenv("JDE_MC_ON_LEAVE", "archive")
    first = defs()
    monkeypatch.setenv("JDE_START_DATE", "2026-02-10")
    monkeypatch.setenv("JDE_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("JDE_MC_AUTOMATION", "running")
    monkeypatch.delenv("JDE_MC_ON_LEAVE")
    second = defs()

    def seen(definitions: dg.Definitions) -> tuple:
        node = definitions.resolve_asset_graph().get(dg.AssetKey("parties"))
        schedule = definitions.resolve_schedule_def("jde_to_mailchimp_schedule")
        return (
            node.partitions_def.get_first_partition_key(),
            node.partitions_def.timezone,
            schedule.execution_timezone,
            schedule.default_status,
            definitions.resolve_sensor_def("jde_change_sensor").default_status,
            definitions.resources["sync_settings"].on_leave,
        )

    assert seen(first) == (
        "2026-01-05",
        "UTC",
        "UTC",
        dg.DefaultScheduleStatus.STOPPED,
        dg.DefaultSensorStatus.STOPPED,
        "archive",
    )
    assert seen(second) == (
        "2026-02-10",
        "America/Chicago",
        "America/Chicago",
        dg.DefaultScheduleStatus.RUNNING,
        dg.DefaultSensorStatus.RUNNING,
        "untag",
    )
    built = build_definitions(Deployment(start_date=dt.date(2025, 12, 1)), resources_from_env({}))
    assert built.resolve_job_def("jde_to_mailchimp_sync").partitions_def.get_first_partition_key() == (
        "2025-12-01"
    )


def _cli_env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JDE_", "MAILCHIMP_", "DAGSTER_"))}
    env["VIRTUAL_ENV"] = str(BIN.parent)  # dg compares it with the project's .venv
    env.update({k: v for k, v in changes.items() if v is not None})
    return env


def _run(*command: str, **env: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=PROJECT,
        env=_cli_env(**env),
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_dagster_and_dg_load_the_code_location() -> None:
    validate = _run("dagster", "definitions", "validate", "-w", "workspace.yaml", JDE_START_DATE="2026-11-01")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "Validation successful for code location jde_mc_pipeline" in validate.stdout + validate.stderr

    listed = _run("dg", "list", "defs", "--json", JDE_START_DATE="2026-11-01")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert {asset["asset_key"] for asset in found["assets"]} == SYNC_ASSETS | {
        "mailchimp_dry_run",
        "mailchimp_drift",
    }
    assert {job["name"] for job in found["jobs"]} >= JOBS


def test_a_missing_start_date_is_a_clear_load_error() -> None:
    done = _run("dagster", "definitions", "validate", "-w", "workspace.yaml")

    assert done.returncode != 0
    assert "SettingsError: JDE_START_DATE is not set" in done.stdout + done.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LOCATION_QUERY = """
{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
  __typename ... on PythonError { message causes { message } } } } } } }
"""


def test_the_ui_shows_a_missing_start_date_as_the_code_location_error(tmp_path: Path) -> None:
    """What the UI's code location page reads (its GraphQL), from a real dagster-webserver."""
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT,
        env=on_machine_clock(_cli_env(DAGSTER_HOME=str(tmp_path))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline, entry = time.monotonic() + 120, None
        while time.monotonic() < deadline and entry is None:
            try:
                reply = requests.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": LOCATION_QUERY}, timeout=5
                )
                entries = reply.json()["data"]["workspaceOrError"]["locationEntries"]
                entry = next((e for e in entries if e["locationOrLoadError"]), None)
            except (requests.ConnectionError, KeyError, TypeError, ValueError):
                pass
            if entry is None:
                time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert entry is not None, "the webserver never reported the code location"
    assert entry["name"] == "jde_mc_pipeline"
    assert entry["locationOrLoadError"]["__typename"] == "PythonError"
    error = entry["locationOrLoadError"]
    shown = [error["message"], *(cause["message"] for cause in error["causes"])]
    assert any("SettingsError: JDE_START_DATE is not set" in text for text in shown), shown

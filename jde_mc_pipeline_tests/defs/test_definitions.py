"""The code location loads: in-process (`Definitions.validate_loadable`) and through the dagster CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from jde_mc_pipeline.defs.partitions import START_DATE

PROJECT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).with_name("dagster"))
EXPECTED_ASSETS = {
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


def test_definitions_load_and_hold_the_job_assets_and_checks() -> None:
    from jde_mc_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("jde_to_mailchimp_sync")
    assert defs.resolve_job_def("mailchimp_replay").name == "mailchimp_replay"
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == EXPECTED_ASSETS
    assert {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys} == {
        ("parties", "schema_valid"),
        ("decided_outcomes", "quarantine_rate"),
        ("mailchimp_list_member_sync", "rejection_rate"),
        ("mailchimp_ecommerce_customer_sync", "rejection_rate"),
        ("mailchimp_list_member_sync", "reconciliation"),
        ("mailchimp_ecommerce_customer_sync", "reconciliation"),
    }
    assert set(job.graph.node_dict) >= {"jde_extract", "map_parties", "mailchimp_list_member_sync"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.partitions_def is not None and node.backfill_policy == dg.BackfillPolicy.single_run(), key
        assert node.group_name in {"jde_raw", "mapping", "mailchimp"} and node.description, key
    assert set(graph.get(dg.AssetKey("mailchimp_list_member_sync")).pools) == {"mailchimp"}
    assert set(graph.get(dg.AssetKey("mailchimp_ecommerce_customer_sync")).pools) == {"mailchimp"}
    assert not graph.get(dg.AssetKey("parties")).pools
    assert set(defs.resources) >= {"jde", "mailchimp", "audit", "sync_settings", "staging"}
    assert job.partitions_def.get_first_partition_key() == START_DATE.isoformat()


def test_dagster_definitions_validate_cli() -> None:
    env = {**os.environ, "JDE_START_DATE": START_DATE.isoformat()}
    done = subprocess.run(
        [DAGSTER, "definitions", "validate", "-m", "jde_mc_pipeline.definitions"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_missing_start_date_is_a_clear_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "JDE_START_DATE"}
    done = subprocess.run(
        [sys.executable, "-c", "import jde_mc_pipeline.definitions"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode != 0
    assert "PartitionSettingsError: JDE_START_DATE is not set" in done.stderr

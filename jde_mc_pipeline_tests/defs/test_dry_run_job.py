"""The dry run from the UI (job `jde_to_mailchimp_dry_run`, asset `mailchimp_dry_run`): the same prediction
as `jde-mc dry-run`, nothing written to Mailchimp or to the synced state, options changed per run in the
Launchpad; and a run from the asset graph, which gets no job hook, still closes its audit row."""

from __future__ import annotations

import io
from collections import Counter

import dagster as dg
import pandas as pd

from jde_mc_pipeline.cli.dry_run import run_dry_run
from jde_mc_pipeline.defs.automation.jobs import DRY_RUN_JOB
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline.mapping.options import LIST_MEMBER
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support
from jde_mc_pipeline_tests.sync.test_dry_run import counts

DRY_RUN = dg.AssetKey("mailchimp_dry_run")


def edit_some_parties(world: SyncWorld) -> dict[str, int]:
    """A renamed party and a moved e-mail, stamped on SYNC_DAY (the emulator's clock), on parties that
    alone hold their e-mail and have one e-mail row."""
    found = expected.parties(world.jde.url, jde_now("UTC").day)
    shared = Counter(p.email for p in found.values() if p.in_scope and p.email)
    rows = Counter(row["AN8"] for row in expected.raw_rows(world.jde.url)["F01151"])
    alone = sorted(
        an8 for an8, p in found.items() if p.in_scope and p.email and shared[p.email] == 1 and rows[an8] == 1
    )
    renamed, moved = found[alone[0]], found[alone[1]]
    support.jde_upsert(world.jde.url, "F0101", [{"ABAN8": renamed.an8, "ABALPH": "Renamed In JDE"}])
    support.jde_upsert(
        world.jde.url,
        "F01151",
        [{"EAAN8": moved.an8, "EAIDLN": 0, "EARCK7": 1, "EAETP": "E", "EAEMAL": "moved.party@jde-dry.net"}],
    )
    return {"renamed": renamed.an8, "moved": moved.an8}


def cli_env(world: SyncWorld) -> dict[str, str]:
    mailchimp = world.resources["mailchimp"]
    return {
        "JDE_AIS_URL": world.jde.url,
        "JDE_USERNAME": "JDE",
        "JDE_PASSWORD": "JDE",
        "JDE_ENVIRONMENT": "JDV920",
        "MAILCHIMP_API_KEY": mailchimp.api_key,
        "MAILCHIMP_API_URL": mailchimp.api_url,
        "MAILCHIMP_LIST_ID": mailchimp.list_id,
        "JDE_MC_AUDIT_DB": world.audit_path,
    }


def prediction(world: SyncWorld, result: dg.ExecuteInProcessResult) -> pd.DataFrame:
    return result.output_for_node("mailchimp_dry_run") if result.success else pd.DataFrame()


def test_the_ui_dry_run_predicts_what_jde_mc_dry_run_prints_and_writes_nothing(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    edited = edit_some_parties(sync_world)
    writes = support.write_requests(sync_world.mailchimp)
    state = support.rows(sync_world.store, "SELECT * FROM synced_state ORDER BY ALL")

    result = sync_world.run(SYNC_DAY, SYNC_DAY, job=DRY_RUN_JOB)
    printed = io.StringIO()
    code = run_dry_run(cli_env(sync_world), start=SYNC_DAY, end=SYNC_DAY, out=printed)

    assert result.success and code == 0, printed.getvalue()
    table = prediction(sync_world, result)
    assert Counter(zip(table["target"], table["outcome"], strict=True)) == Counter(counts(printed.getvalue()))
    mine = table.set_index(["an8", "target"])["outcome"]
    assert mine[(edited["renamed"], LIST_MEMBER)] == "updated"
    assert mine[(edited["moved"], LIST_MEMBER)] == "renamed"
    assert set(table["partition_key"]) == {SYNC_DAY.isoformat()}
    assert support.write_requests(sync_world.mailchimp) == writes
    assert support.rows(sync_world.store, "SELECT * FROM synced_state ORDER BY ALL") == state
    run_id = result.run_id
    assert support.rows(sync_world.store, "SELECT job, status FROM sync_runs WHERE run_id = ?", [run_id]) == [
        (DRY_RUN_JOB, "succeeded")
    ]
    assert support.rows(
        sync_world.store, "SELECT count(*) FROM sync_outcomes WHERE run_id = ?", [run_id]
    ) == [(0,)]
    [materialization] = result.asset_materializations_for_node("mailchimp_dry_run")
    metadata = materialization.metadata
    assert metadata["run_member_renamed"].value == 1 and metadata["run_member_updated"].value >= 1
    assert metadata["run_mailchimp_get_requests"].value > 0


def test_a_dry_run_takes_its_options_from_the_launchpad(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    edit_some_parties(sync_world)
    only_customers = {"customer_targets": ["ecommerce_customer"], "vendor_targets": ["ecommerce_customer"]}
    overrides = {"resources": {"sync_settings": {"config": only_customers}}}

    result = sync_world.run(SYNC_DAY, SYNC_DAY, job=DRY_RUN_JOB, run_config=overrides)

    assert result.success
    table = prediction(sync_world, result)
    members = table.loc[table["target"] == LIST_MEMBER, "outcome"]
    # routed to no member target: the synced contacts would leave that scope (their tags set inactive)
    assert len(members) > 0 and set(members) == {"left_scope:no_role"}


def test_a_failed_run_from_the_asset_graph_is_closed_as_failed(sync_world: SyncWorld) -> None:
    """`Materialize` in the asset graph runs the implicit asset job: no job hook, still no `started` row."""
    sync_world.configure("mailchimp", list_id="0000000000")
    job = sync_world.definitions.resolve_implicit_global_asset_job_def()
    tags = {"dagster/asset_partition_range_start": SYNC_DAY.isoformat(),
            "dagster/asset_partition_range_end": SYNC_DAY.isoformat()}  # fmt: skip

    result = job.execute_in_process(instance=sync_world.instance, tags=tags, raise_on_error=False)

    assert not result.success
    assert support.rows(
        sync_world.store, "SELECT status FROM sync_runs WHERE run_id = ?", [result.run_id]
    ) == [("failed",)]
    assert sync_world.instance.get_run_by_id(result.run_id).tags["jde_mc/partitions"] == SYNC_DAY.isoformat()

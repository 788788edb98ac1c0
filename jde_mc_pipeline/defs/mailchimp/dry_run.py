"""The dry run in the UI: `mailchimp_dry_run`, what a sync of the partitions would do, nothing written.

It takes the mapping's outputs of its own run (the job `jde_to_mailchimp_dry_run` runs the JDE extract and the
mapping first) and predicts every party's outcome per target with `sync/dry_run.py predict_sync`, the
function `jde-mc dry-run` calls: members from the audience itself (GETs only), customers from the synced
state, departures and decided outcomes from the mapping. Its output is that prediction table; its
metadata holds the predicted counts per target (numbers, so the Plots view of the Metadata draws them),
what Mailchimp would likely refuse, the merge fields a sync would create, and samples.

What it leaves behind: the run's pulls and mapped values in the audit (like any run, under its run id
with job `jde_to_mailchimp_dry_run`), no outcome, no synced state, no Mailchimp write.

Why it skips itself inside a run that also writes (`Materialize all`, `--select '*'`): that run's sync
assets record what really happened, and predicting it first would cost one read per member for nothing.
It is in the `mailchimp` pool because its reads count against Mailchimp's 10 connections like writes do.
"""

import time

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.backends import synced_state
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.mailchimp.assets import MAILCHIMP_GROUP, SYNC_KEYS
from jde_mc_pipeline.defs.mapping.assets import (
    CUSTOMER_PAYLOADS,
    DECIDED_OUTCOMES,
    DEPARTURES,
    MEMBER_PAYLOADS,
    PARTIES,
)
from jde_mc_pipeline.defs.metadata import OWNERS, add_partition_counts, numbers, outcome_counts, sample
from jde_mc_pipeline.defs.partitions import key_range, partition_keys, staged_partitions
from jde_mc_pipeline.defs.resources import AuditStoreResource, MailchimpResource, SyncSettingsResource
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import UNCHANGED
from jde_mc_pipeline.sync.dry_run import likely_refusals, predict_sync
from jde_mc_pipeline.sync.inspection import MergeFieldFindings, merge_field_specs
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN, close_run

DRY_RUN_KEY = dg.AssetKey("mailchimp_dry_run")
SHORT = {LIST_MEMBER: "member", ECOMMERCE_CUSTOMER: "customer"}


def build_dry_run(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The `mailchimp_dry_run` report asset (module doc)."""

    @dg.asset(
        key=DRY_RUN_KEY,
        ins={
            "parties": dg.AssetIn(key=PARTIES),
            "members": dg.AssetIn(key=MEMBER_PAYLOADS),
            "customers": dg.AssetIn(key=CUSTOMER_PAYLOADS),
            "decided": dg.AssetIn(key=DECIDED_OUTCOMES),
            "departures": dg.AssetIn(key=DEPARTURES),
        },
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=MAILCHIMP_POOL,
        group_name=MAILCHIMP_GROUP,
        kinds={"mailchimp", "pandas"},
        owners=OWNERS,
        tags={"system": "mailchimp", "writes": "none"},
        io_manager_key="staging",
        output_required=False,
        description="What a sync of these days would do in Mailchimp, without writing anything: per party "
        "and target the predicted outcome (created, updated, renamed, unchanged, merged, quarantined, "
        "left scope, likely refused), with the reason. Run it with the job jde_to_mailchimp_dry_run.",
    )
    def mailchimp_dry_run(
        context: dg.AssetExecutionContext,
        parties: pd.DataFrame,
        members: pd.DataFrame,
        customers: pd.DataFrame,
        decided: pd.DataFrame,
        departures: pd.DataFrame,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ):
        selected = context.run.asset_selection or context.job_def.asset_layer.selected_asset_keys
        if any(key in selected for key in SYNC_KEYS):
            context.log.info("not predicted: this run writes to Mailchimp, its sync assets say what happened")
            return
        _, last = key_range(context.partition_keys)
        known = staged_partitions([parties, members, customers, decided, departures])
        frames = [
            f.drop(columns=PARTITION_COLUMN) for f in (parties, members, customers, decided, departures)
        ]
        parties, members, customers, decided, departures = frames
        emails = pd.Series(parties["email"].to_numpy(), index=parties["an8"].to_numpy())
        with audit.closing_run(context.run.run_id) as store:
            began = time.perf_counter()
            with mailchimp.client() as client:
                prediction = predict_sync(
                    members, customers, departures, decided, emails, client, mailchimp.list_id,
                    synced_state(store), merge_field_specs(sync_settings.options(mailchimp.store_id)),
                )  # fmt: skip
                reads = int(client.stats["requests"])
            table = prediction.table
            table[PARTITION_COLUMN] = partition_keys(table["an8"], known, last).to_numpy()
            close_run(store, context.run.run_id, RUN_SUCCEEDED, audit.keep_raw_days)
        seconds = time.perf_counter() - began
        context.log.info(
            f"predicted {len(table):,} outcomes for {len(parties):,} parties in {seconds:.1f} s "
            f"({reads:,} Mailchimp GETs, nothing written); run {context.run.run_id} recorded in sync_runs"
        )
        add_partition_counts(context, table, outcomes=True)
        per_target = {}
        for target, short in SHORT.items():
            per_target.update(numbers(outcome_counts(table.loc[table["target"] == target]), f"run_{short}_"))
        yield dg.Output(
            table,
            metadata={
                **per_target,
                **numbers({"run_rows": len(table), "run_mailchimp_get_requests": reads}),
                "likely_refusals": refusals(table, prediction.fields),
                "merge_fields": dg.MetadataValue.json(
                    {
                        "to_create": list(prediction.fields.to_create),
                        "removed": list(prediction.fields.missing),
                        "required_unfilled": list(prediction.fields.required_unfilled),
                        "conflicts": {k: list(v) for k, v in prediction.fields.conflicts.items()},
                    }
                ),
                "sample": sample(
                    table.loc[table["outcome"] != UNCHANGED]
                    .groupby(["target", "outcome"], sort=True)
                    .head(3)
                    .loc[:, ["an8", "target", "email", "outcome", "flag", "detail"]],
                    rows=30,
                ),
            },
        )

    return mailchimp_dry_run


def refusals(table: pd.DataFrame, fields: MergeFieldFindings) -> dg.MetadataValue:
    """The dry run's summary of likely refusals (sync/dry_run.py), as a markdown list."""
    lines = [f"- {refusal.text}" for refusal in likely_refusals(table, fields)]
    return dg.MetadataValue.md("\n".join(lines) or "_nothing detected_")

"""The job `jde_to_mailchimp_sync`: JDE extract → mapping → both Mailchimp writes, with their checks.

Why a failure hook: the run's row in `sync_runs` is opened by the extract step and closed by the last
Mailchimp step; when any step fails (including the blocking reconciliation check), the hook closes it
as `failed` with the counts recorded so far, so the audit never shows a dead run as still `started`.
"""

import dagster as dg

from jde_mc_pipeline.defs.assets_jde import JDE_GROUP, jde_extract
from jde_mc_pipeline.defs.assets_mailchimp import (
    MAILCHIMP_GROUP,
    mailchimp_ecommerce_customer_sync,
    mailchimp_list_member_sync,
)
from jde_mc_pipeline.defs.assets_mapping import MAPPING_GROUP, map_parties
from jde_mc_pipeline.defs.checks import RECONCILIATION_CHECKS, run_outcome_counts

SYNC_JOB_NAME = "jde_to_mailchimp_sync"

SYNC_ASSETS = [jde_extract, map_parties, mailchimp_list_member_sync, mailchimp_ecommerce_customer_sync]
"""Every asset of the sync, upstream first."""
SYNC_CHECKS = list(RECONCILIATION_CHECKS)
"""The checks that run as steps of their own (the WARN checks are evaluated inside the assets)."""


@dg.failure_hook(required_resource_keys={"audit"}, name="record_failed_run")
def record_failed_run(context: dg.HookContext) -> None:
    """Close the run's `sync_runs` row as `failed`, with the outcome counts recorded so far."""
    store = context.resources.audit.store()
    store.finish_run(context.run_id, "failed", run_outcome_counts(store, context.run_id))


jde_to_mailchimp_sync = dg.define_asset_job(
    SYNC_JOB_NAME,
    selection=dg.AssetSelection.groups(JDE_GROUP, MAPPING_GROUP, MAILCHIMP_GROUP),
    description="Pulls the parties changed in the partitions' UPMJ window from JDE, maps them and writes "
    "list members and e-commerce customers to Mailchimp, recording everything in the audit store.",
    hooks={record_failed_run},
    tags={"jde_mc/target": "mailchimp"},
)

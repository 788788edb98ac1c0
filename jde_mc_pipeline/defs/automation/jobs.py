"""The asset jobs: `jde_to_mailchimp_sync` (the whole chain) and `jde_to_mailchimp_dry_run` (extract, map and
predict, writing nothing to Mailchimp).

Why a failure hook: the run's row in `sync_runs` is opened by the extract step and closed by the last
step that writes (or by the dry-run report); when any step fails (including a blocking reconciliation
check), the hook closes it as `failed` with the counts recorded so far, so the audit never shows a dead
run as still `started`.
"""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.jde.assets import JDE_GROUP
from jde_mc_pipeline.defs.mailchimp.assets import MAILCHIMP_GROUP
from jde_mc_pipeline.defs.mailchimp.dry_run import DRY_RUN_KEY
from jde_mc_pipeline.defs.mapping.assets import MAPPING_GROUP
from jde_mc_pipeline.sync.stages import close_run

SYNC_JOB = "jde_to_mailchimp_sync"
DRY_RUN_JOB = "jde_to_mailchimp_dry_run"
TRIGGER_TAG = "jde_mc/trigger"
"""Who asked for a run: `sensor`, `schedule`, `nightly`, `reconciliation` (absent: a person)."""
WATERMARK_TAG = "jde_mc/watermark"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    """Both asset jobs, with the hook that closes a failed run's audit row (module doc)."""

    @dg.failure_hook(required_resource_keys={"audit"}, name="record_failed_run")
    def record_failed_run(context: dg.HookContext) -> None:
        """Close the run's `sync_runs` row as `failed`, with the outcome counts recorded so far."""
        close_run(context.resources.audit.store(), context.run_id, "failed")

    sync = dg.define_asset_job(
        SYNC_JOB,
        selection=dg.AssetSelection.groups(JDE_GROUP, MAPPING_GROUP, MAILCHIMP_GROUP)
        - dg.AssetSelection.assets(DRY_RUN_KEY),
        description="Pulls the parties changed in the partitions' UPMJ window from JDE, maps them and "
        "writes list members and e-commerce customers to Mailchimp, recording everything in the audit.",
        hooks={record_failed_run},
        tags={"jde_mc/target": "mailchimp"},
    )
    dry_run = dg.define_asset_job(
        DRY_RUN_JOB,
        selection=dg.AssetSelection.groups(JDE_GROUP, MAPPING_GROUP) | dg.AssetSelection.assets(DRY_RUN_KEY),
        description="Pulls and maps the partitions like a sync, then predicts what the sync would do in "
        "Mailchimp (the mailchimp_dry_run report); writes nothing to Mailchimp.",
        hooks={record_failed_run},
        tags={"jde_mc/target": "none"},
    )
    return [sync, dry_run]

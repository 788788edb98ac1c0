"""The asset jobs: `jde_to_mailchimp_sync` (the whole chain) and `jde_to_mailchimp_dry_run` (extract, map and
predict, writing nothing to Mailchimp); the name of the third job, `jde_scope_reconciliation` (an op job,
scope_reconciliation.py).

The run's row in `sync_runs` is opened by the extract step and closed by the last step that writes (or by
the dry-run report); a step that fails closes it as `failed` itself (`AuditStoreResource.closing_run`), so
a run launched from the asset graph or the CLI, which is not a run of these jobs and gets no job hook, is
closed the same way.
"""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.jde.assets import JDE_GROUP
from jde_mc_pipeline.defs.mailchimp.assets import MAILCHIMP_GROUP
from jde_mc_pipeline.defs.mailchimp.dry_run import DRY_RUN_KEY
from jde_mc_pipeline.defs.mapping.assets import MAPPING_GROUP

SYNC_JOB = "jde_to_mailchimp_sync"
DRY_RUN_JOB = "jde_to_mailchimp_dry_run"
SCOPE_JOB = "jde_scope_reconciliation"


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    """Both asset jobs (module doc)."""
    sync = dg.define_asset_job(
        SYNC_JOB,
        selection=dg.AssetSelection.groups(JDE_GROUP, MAPPING_GROUP, MAILCHIMP_GROUP)
        - dg.AssetSelection.assets(DRY_RUN_KEY),
        description="Pulls the parties changed in the partitions' UPMJ window from JDE, maps them and "
        "writes list members and e-commerce customers to Mailchimp, recording everything in the audit.",
        tags={"jde_mc/target": "mailchimp"},
    )
    dry_run = dg.define_asset_job(
        DRY_RUN_JOB,
        selection=dg.AssetSelection.groups(JDE_GROUP, MAPPING_GROUP) | dg.AssetSelection.assets(DRY_RUN_KEY),
        description="Pulls and maps the partitions like a sync, then predicts what the sync would do in "
        "Mailchimp (the mailchimp_dry_run report); writes nothing to Mailchimp.",
        tags={"jde_mc/target": "none"},
    )
    return [sync, dry_run]

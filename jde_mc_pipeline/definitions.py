"""The code location: `defs` holds every asset, check, job, schedule, sensor and resource.

Loaded by `dagster dev` through workspace.yaml / `[tool.dagster]`, and by
`dagster definitions validate -m jde_mc_pipeline.definitions`. `JDE_START_DATE` must be set (the
daily partitions start there); the other variables are resolved when a run launches.
"""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.automation import jde_change_sensor, jde_to_mailchimp_schedule
from jde_mc_pipeline.defs.jobs import SYNC_ASSETS, SYNC_CHECKS, jde_to_mailchimp_sync
from jde_mc_pipeline.defs.replay import mailchimp_replay
from jde_mc_pipeline.defs.resources import RESOURCES
from jde_mc_pipeline.defs.scope import jde_scope_reconciliation, jde_scope_reconciliation_schedule
from jde_mc_pipeline.defs.staging import StagedFrameIOManager

defs = dg.Definitions(
    assets=SYNC_ASSETS,
    asset_checks=SYNC_CHECKS,
    jobs=[jde_to_mailchimp_sync, mailchimp_replay, jde_scope_reconciliation],
    schedules=[jde_to_mailchimp_schedule, jde_scope_reconciliation_schedule],
    sensors=[jde_change_sensor],
    resources={**RESOURCES, "staging": StagedFrameIOManager()},
)

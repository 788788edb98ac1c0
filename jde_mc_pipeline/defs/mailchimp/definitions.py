"""The Mailchimp part of the code location: the two sync assets and their checks, the dry-run report and
the replay job, built from the deployment settings when the definitions load."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env
from jde_mc_pipeline.defs.mailchimp.assets import TARGETS, build_sync_target
from jde_mc_pipeline.defs.mailchimp.dry_run import build_dry_run
from jde_mc_pipeline.defs.mailchimp.replay import build_replay_job
from jde_mc_pipeline.defs.partitions import upmj_partitions


def build(deployment: Deployment) -> dg.Definitions:
    partitions = upmj_partitions(deployment)
    syncs, checks = zip(*(build_sync_target(spec, partitions) for spec in TARGETS), strict=True)
    return dg.Definitions(
        assets=dg.with_source_code_references([*syncs, build_dry_run(partitions)]),
        asset_checks=list(checks),
        jobs=[build_replay_job()],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(deployment_from_env())

"""The drift part of the code location: `mailchimp_drift`, its check, a job and its daily schedule
(`mailchimp_drift_schedule`, `JDE_MC_DRIFT_CRON`), built when the definitions load."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env
from jde_mc_pipeline.defs.drift.assets import DRIFT_KEY, build_drift_asset
from jde_mc_pipeline.defs.drift.checks import build_drift_check
from jde_mc_pipeline.defs.drift.settings import DriftSettings, drift_settings_from_env
from jde_mc_pipeline.defs.run_tags import TRIGGER_TAG

DRIFT_JOB = "mailchimp_drift_job"


def build(deployment: Deployment, drift: DriftSettings | None = None) -> dg.Definitions:
    """The drift asset, job and schedule (`drift`: read from the environment when not given)."""
    drift = drift or drift_settings_from_env()
    job = dg.define_asset_job(
        DRIFT_JOB,
        selection=dg.AssetSelection.assets(DRIFT_KEY),
        description="Reads Mailchimp back and records what changed there since the sync (mailchimp_drift).",
    )
    schedule = dg.ScheduleDefinition(
        name="mailchimp_drift_schedule",
        job=job,
        cron_schedule=drift.cron,
        execution_timezone=deployment.timezone,
        tags={TRIGGER_TAG: "drift"},
        default_status=dg.DefaultScheduleStatus.RUNNING
        if deployment.automation_running
        else dg.DefaultScheduleStatus.STOPPED,
        description="Runs mailchimp_drift every day (JDE_MC_DRIFT_CRON).",
    )
    return dg.Definitions(
        assets=dg.with_source_code_references([build_drift_asset(drift)]),
        asset_checks=[build_drift_check(DRIFT_KEY, drift.warn_findings)],
        jobs=[job],
        schedules=[schedule],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(deployment_from_env())

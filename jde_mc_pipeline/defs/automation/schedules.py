"""The schedules: `jde_to_mailchimp_schedule` (today's partition, and yesterday's at night) and
`jde_scope_reconciliation_schedule` (the nightly scope reconciliation).

`jde_to_mailchimp_schedule` is the sensor's safety net: every `JDE_MC_SCHEDULE_CRON` (default every 15
minutes, in JDE's time zone) it requests today's partition, and the first tick at or after
`JDE_MC_NIGHTLY_HOUR` (default 1) also requests yesterday's, catching late writers and any change the
sensor could not see (one stamped in the very second of its watermark after it probed). Re-running a
partition is cheap for Mailchimp: change detection leaves unchanged contacts alone.

Both are built from the `Deployment` when the definitions load and start stopped (turn them on under
Automation) unless `JDE_MC_AUTOMATION=running`, which `jde-mc demo` sets.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from jde_mc_pipeline.defs.automation.jobs import SCOPE_JOB, SYNC_JOB
from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.run_tags import TRIGGER_TAG


def is_first_tick_after(moment: dt.datetime, hour: int, cron: str, timezone: str) -> bool:
    """Whether `moment` (a tick of `cron`) is the first tick at or after `hour`:00 of its day.

    It is when no tick lies in [mark, moment). Dagster's public API iterates a cron only as the windows
    of a time-window partitions definition: with the ticks from `mark` on as window starts, a tick in
    [mark, moment) starts a window that has ended by `moment` (the next tick is `moment` at the latest).
    """
    local = moment.astimezone(ZoneInfo(timezone))
    mark = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if local < mark:
        return False
    ticks = dg.TimeWindowPartitionsDefinition(
        cron_schedule=cron, start=mark.replace(tzinfo=None), timezone=timezone, fmt="%Y-%m-%dT%H:%M:%S"
    )
    return not ticks.get_partition_keys(current_time=local)


def _status(deployment: Deployment) -> dg.DefaultScheduleStatus:
    return (
        dg.DefaultScheduleStatus.RUNNING
        if deployment.automation_running
        else dg.DefaultScheduleStatus.STOPPED
    )


def build_sync_schedule(deployment: Deployment) -> dg.ScheduleDefinition:
    """Today's partition every tick; yesterday's too on the first tick after the nightly hour."""
    start, zone = deployment.start_date, deployment.timezone

    @dg.schedule(
        name="jde_to_mailchimp_schedule",
        job_name=SYNC_JOB,
        cron_schedule=deployment.schedule_cron,
        execution_timezone=zone,
        default_status=_status(deployment),
        description="Refreshes today's UPMJ partition; the first tick after JDE_MC_NIGHTLY_HOUR also re-runs "
        "yesterday's.",
    )
    def jde_to_mailchimp_schedule(
        context: dg.ScheduleEvaluationContext,
    ) -> list[dg.RunRequest] | dg.SkipReason:
        moment = context.scheduled_execution_time.astimezone(ZoneInfo(zone))
        today = moment.date()
        if today < start:
            return dg.SkipReason(f"today ({today}) is before JDE_START_DATE ({start}): no partition yet")
        days = [today]
        if today > start and is_first_tick_after(
            moment, deployment.nightly_hour, deployment.schedule_cron, zone
        ):
            days.insert(0, today - dt.timedelta(days=1))
        tick = moment.isoformat(timespec="minutes")
        return [
            dg.RunRequest(
                partition_key=day.isoformat(),
                run_key=f"{day.isoformat()}@{tick}",
                tags={TRIGGER_TAG: "nightly" if day < today else "schedule"},
            )
            for day in days
        ]

    return jde_to_mailchimp_schedule


def build_scope_schedule(deployment: Deployment) -> dg.ScheduleDefinition:
    """The scope reconciliation every night (`JDE_MC_RECONCILIATION_CRON`, default 02:30, JDE's zone)."""
    return dg.ScheduleDefinition(
        name="jde_scope_reconciliation_schedule",
        job_name=SCOPE_JOB,
        cron_schedule=deployment.reconciliation_cron,
        execution_timezone=deployment.timezone,
        tags={TRIGGER_TAG: "reconciliation"},
        default_status=_status(deployment),
        description="Runs jde_scope_reconciliation every night (JDE_MC_RECONCILIATION_CRON).",
    )

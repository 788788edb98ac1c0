"""What starts `jde_to_mailchimp_sync` by itself: a change sensor on JDE and a refresh schedule.

- `jde_change_sensor` asks AIS, with the change probe, which UPMJ days have changes after its cursor
  (the (UPMJ, UPMT) watermark, JSON) and requests one run per changed day. The run key is the day plus
  the new watermark, so a second change on a day already synced is a new run, not a duplicate Dagster
  skips. The first tick (no cursor) requests the initial load: one run from the first partition
  (which holds all history) through the last changed day; so does a tick that finds more than
  `MAX_RUNS_PER_TICK` changed days (after downtime). The sensor never opens the DuckDB audit file
  (a sensor tick beside a writing run would meet its lock:
  https://duckdb.org/docs/stable/connect/concurrency): everything it needs is in its cursor.
- `jde_to_mailchimp_schedule` is the safety net: every `JDE_MC_SCHEDULE_CRON` (default every 15
  minutes, in JDE's time zone) it requests today's partition, and the first tick at or after
  `JDE_MC_NIGHTLY_HOUR` (default 1) also requests yesterday's, catching late writers and any change
  the sensor could not see (one stamped in the very second of its watermark after it probed).
  Re-running a partition is cheap for Mailchimp: change detection leaves unchanged contacts alone.

Both start STOPPED (turn them on under Automation) unless `JDE_MC_AUTOMATION=running`, which
`jde-mc demo` sets. `JDE_MC_SENSOR_INTERVAL_SECONDS` (default 60) is the sensor's minimum interval.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from contextlib import closing
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string, reverse_cron_string_iterator

from jde_mc_pipeline.defs.partitions import JDE_TIMEZONE, START_DATE
from jde_mc_pipeline.defs.resources import JdeAisResource
from jde_mc_pipeline.jde.extract import Watermark, jde_now, probe_changes
from jde_mc_pipeline.sync.run import SYNC_JOB

TRIGGER_TAG = "jde_mc/trigger"
WATERMARK_TAG = "jde_mc/watermark"


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def automation_running() -> bool:
    """True when `JDE_MC_AUTOMATION=running`: otherwise a new deployment syncs nothing by itself."""
    return (os.environ.get("JDE_MC_AUTOMATION") or "").strip().lower() == "running"


SCHEDULE_CRON = (os.environ.get("JDE_MC_SCHEDULE_CRON") or "").strip() or "*/15 * * * *"
NIGHTLY_HOUR = _env_int("JDE_MC_NIGHTLY_HOUR", 1, 0, 23)
SENSOR_INTERVAL_SECONDS = _env_int("JDE_MC_SENSOR_INTERVAL_SECONDS", 60, 5, 86400)
if not is_valid_cron_string(SCHEDULE_CRON):
    raise ValueError(f"JDE_MC_SCHEDULE_CRON {SCHEDULE_CRON!r} is not a cron expression")


# -- the sensor's cursor ------------------------------------------------------------------------------


def encode_cursor(watermark: Watermark | None) -> str:
    """The cursor after a tick: the watermark (None while JDE holds no stamped row at all)."""
    if watermark is None:
        return json.dumps({"upmj": None, "upmt": None})
    return json.dumps({"upmj": watermark.day.isoformat(), "upmt": watermark.time})


def decode_cursor(cursor: str | None) -> tuple[bool, Watermark | None]:
    """(initial load requested already, watermark) from a cursor written by `encode_cursor`."""
    if not cursor:
        return False, None
    try:
        doc = json.loads(cursor)
        if doc.get("upmj") is None:
            return True, None
        return True, Watermark(dt.date.fromisoformat(doc["upmj"]), int(doc["upmt"]))
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(
            f"jde_change_sensor cursor {cursor!r} is not {{'upmj': 'YYYY-MM-DD', 'upmt': HHMMSS}}: {error}. "
            "Reset it under Automation → jde_change_sensor, or set a valid one"
        ) from None


def stamp_text(watermark: Watermark | None) -> str:
    return "none" if watermark is None else f"{watermark.day.isoformat()}T{watermark.time:06d}"


def partition_days(days: Iterable[dt.date], today: dt.date, first: dt.date = START_DATE) -> list[dt.date]:
    """The partitions to run for these UPMJ days: earlier days go to the first partition, which holds all
    history; days after today (stamps from a skewed clock) have no partition yet and are left out,
    which loses nothing: the probe keeps the watermark at now, so they are reported again later."""
    return sorted({max(day, first) for day in days if day <= today})


# -- the sensor ---------------------------------------------------------------------------------------

MAX_RUNS_PER_TICK = 7
"""More changed days than this in one tick (after downtime) become one run over their range."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def sensor_requests(days: list[dt.date], mark: str, *, initial: bool) -> list[dg.RunRequest]:
    """One run per changed day; one run over [first, last] for the initial load or after downtime.

    The initial load is one run because the first partition's window already reads all history
    through the run's last day (every asset has a single-run backfill policy): one run of the whole
    range instead of one per day since JDE_START_DATE.
    """
    tags = {TRIGGER_TAG: "sensor", WATERMARK_TAG: mark}
    if initial or len(days) > MAX_RUNS_PER_TICK:
        first, last = days[0].isoformat(), days[-1].isoformat()
        if first != last:
            return [
                dg.RunRequest(
                    run_key=f"{first}...{last}@{mark}",
                    tags={**tags, RANGE_START_TAG: first, RANGE_END_TAG: last},
                )
            ]
    return [
        dg.RunRequest(partition_key=d.isoformat(), run_key=f"{d.isoformat()}@{mark}", tags=tags) for d in days
    ]


@dg.sensor(
    name="jde_change_sensor",
    job_name=SYNC_JOB,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING if automation_running() else dg.DefaultSensorStatus.STOPPED,
    description="Probes JDE AIS for changes past the (UPMJ, UPMT) cursor and requests the changed UPMJ days.",
)
def jde_change_sensor(
    context: dg.SensorEvaluationContext, jde: JdeAisResource
) -> dg.SensorResult | dg.SkipReason:
    initial_done, watermark = decode_cursor(context.cursor)
    # closing(): the tick's HTTP pool is released (the daemon ticks for weeks); `client`: log in and out.
    with closing(jde.client()) as client, client:
        probe = probe_changes(client, watermark, floor=START_DATE)
        today = jde_now(client.timezone).day
    days = set(probe.dates)
    if not initial_done:
        days.add(START_DATE)
    wanted = partition_days(days, today)
    if not wanted:
        if probe.dates:
            context.log.info(f"changes only on future UPMJ days {sorted(probe.dates)}: waiting for them")
        return dg.SkipReason(f"no JDE change after {stamp_text(watermark)} ({probe.stats.calls} AIS calls)")
    mark = stamp_text(probe.watermark)
    requests = sensor_requests(wanted, mark, initial=not initial_done)
    context.log.info(
        f"JDE changes after {stamp_text(watermark)} up to {mark}: UPMJ days {[str(d) for d in wanted]}"
    )
    return dg.SensorResult(run_requests=requests, cursor=encode_cursor(probe.watermark))


# -- the schedule -------------------------------------------------------------------------------------


def is_first_tick_after(moment: dt.datetime, hour: int, cron: str, timezone: str) -> bool:
    """Whether `moment` (a tick of `cron`) is the first tick at or after `hour`:00 of its day."""
    local = moment.astimezone(ZoneInfo(timezone))
    mark = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if local < mark:
        return False
    previous = next(t for t in reverse_cron_string_iterator(local.timestamp(), cron, timezone) if t < local)
    return previous < mark


@dg.schedule(
    name="jde_to_mailchimp_schedule",
    job_name=SYNC_JOB,
    cron_schedule=SCHEDULE_CRON,
    execution_timezone=JDE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_running()
    else dg.DefaultScheduleStatus.STOPPED,
    description="Refreshes today's UPMJ partition; the first tick after JDE_MC_NIGHTLY_HOUR also re-runs "
    "yesterday's.",
)
def jde_to_mailchimp_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    moment = context.scheduled_execution_time.astimezone(ZoneInfo(JDE_TIMEZONE))
    today = moment.date()
    if today < START_DATE:
        return dg.SkipReason(f"today ({today}) is before JDE_START_DATE ({START_DATE}): no partition yet")
    days = [today]
    if today > START_DATE and is_first_tick_after(moment, NIGHTLY_HOUR, SCHEDULE_CRON, JDE_TIMEZONE):
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

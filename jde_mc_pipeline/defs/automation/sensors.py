"""`jde_change_sensor`: asks AIS which UPMJ days changed and requests their partitions.

It probes with the change probe (jde/extract.py) past its cursor (the (UPMJ, UPMT) watermark, JSON) and
requests one run per changed day. The run key is the day plus the new watermark, so a second change on a
day already synced is a new run, not a duplicate Dagster skips. The first tick (no cursor) requests the
initial load: one run from the first partition (which holds all history) through the last changed day;
so does a tick that finds more than `MAX_RUNS_PER_TICK` changed days (after downtime). The sensor never
opens the DuckDB audit file (a sensor tick beside a writing run would meet its lock:
https://duckdb.org/docs/stable/connect/concurrency): everything it needs is in its cursor.

Built from the `Deployment` when the definitions load: the first partition, the minimum interval
(`JDE_MC_SENSOR_INTERVAL_SECONDS`) and whether it starts running (`JDE_MC_AUTOMATION=running`, which
`jde-mc demo` sets; otherwise it starts stopped, to be turned on under Automation).
"""

import datetime as dt
import json
from collections.abc import Iterable
from contextlib import closing

import dagster as dg

from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB
from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.resources import JdeAisResource
from jde_mc_pipeline.defs.run_tags import RANGE_END_TAG, RANGE_START_TAG, TRIGGER_TAG, WATERMARK_TAG
from jde_mc_pipeline.jde.extract import Watermark, jde_now, probe_changes

MAX_RUNS_PER_TICK = 7
"""More changed days than this in one tick (after downtime) become one run over their range."""


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


def partition_days(days: Iterable[dt.date], today: dt.date, first: dt.date) -> list[dt.date]:
    """The partitions to run for these UPMJ days: earlier days go to the first partition, which holds all
    history; days after today (stamps from a skewed clock) have no partition yet and are left out,
    which loses nothing: the probe keeps the watermark at now, so they are reported again later."""
    return sorted({max(day, first) for day in days if day <= today})


def sensor_requests(days: list[dt.date], mark: str, *, initial: bool) -> list[dg.RunRequest]:
    """One run per changed day; one run over [first, last] for the initial load or after downtime.

    The initial load is one run because the first partition's window already reads all history
    through the run's last day (every asset has a single-run backfill policy).
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


def build_change_sensor(deployment: Deployment) -> dg.SensorDefinition:
    """The sensor of this deployment (module doc)."""
    start = deployment.start_date

    @dg.sensor(
        name="jde_change_sensor",
        job_name=SYNC_JOB,
        minimum_interval_seconds=deployment.sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING
        if deployment.automation_running
        else dg.DefaultSensorStatus.STOPPED,
        description="Probes JDE AIS for changes past the (UPMJ, UPMT) cursor and requests the changed UPMJ "
        "days.",
    )
    def jde_change_sensor(
        context: dg.SensorEvaluationContext, jde: JdeAisResource
    ) -> dg.SensorResult | dg.SkipReason:
        initial_done, watermark = decode_cursor(context.cursor)
        # closing(): the tick's HTTP pool is released (the daemon ticks for weeks); `client`: log in and out.
        with closing(jde.client()) as client, client:
            probe = probe_changes(client, watermark, floor=start)
            today = jde_now(client.timezone).day
        days = set(probe.dates)
        if not initial_done:
            days.add(start)
        wanted = partition_days(days, today, start)
        if not wanted:
            if probe.dates:
                context.log.info(f"changes only on future UPMJ days {sorted(probe.dates)}: waiting for them")
            return dg.SkipReason(
                f"no JDE change after {stamp_text(watermark)} ({probe.stats.calls} AIS calls)"
            )
        mark = stamp_text(probe.watermark)
        context.log.info(
            f"JDE changes after {stamp_text(watermark)} up to {mark}: UPMJ days {[str(d) for d in wanted]}"
        )
        return dg.SensorResult(
            run_requests=sensor_requests(wanted, mark, initial=not initial_done),
            cursor=encode_cursor(probe.watermark),
        )

    return jde_change_sensor

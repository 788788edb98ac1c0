"""`jde_to_mailchimp_schedule`, resolved through the real definitions (partition keys validated)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from jde_mc_pipeline.definitions import build_definitions
from jde_mc_pipeline.defs.automation.schedules import is_first_tick_after
from jde_mc_pipeline.defs.resources import resources_from_env
from jde_mc_pipeline_tests.deployment import DEPLOYMENT, START_DATE

NIGHTLY_HOUR = DEPLOYMENT.nightly_hour

DAY = START_DATE + timedelta(days=5)


def tick(defs, instance, moment: datetime):
    schedule = defs.resolve_schedule_def("jde_to_mailchimp_schedule")
    context = dg.build_schedule_context(
        instance=instance,
        scheduled_execution_time=moment,
        repository_def=defs.get_repository_def(),
    )
    return schedule.evaluate_tick(context)


def at(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(DEPLOYMENT.timezone))


def test_a_daytime_tick_requests_today(defs, instance) -> None:
    data = tick(defs, instance, at(DAY, 14, 30))

    assert [r.partition_key for r in data.run_requests] == [DAY.isoformat()]
    assert data.run_requests[0].tags["jde_mc/trigger"] == "schedule"


def test_the_first_tick_after_the_nightly_hour_also_requests_yesterday(defs, instance) -> None:
    data = tick(defs, instance, at(DAY, NIGHTLY_HOUR))

    assert [r.partition_key for r in data.run_requests] == [
        (DAY - timedelta(days=1)).isoformat(),
        DAY.isoformat(),
    ]
    assert [r.tags["jde_mc/trigger"] for r in data.run_requests] == ["nightly", "schedule"]
    assert len({r.run_key for r in data.run_requests}) == 2


@pytest.mark.parametrize("minute", [15, 45])
def test_later_ticks_that_night_request_today_only(defs, instance, minute: int) -> None:
    data = tick(defs, instance, at(DAY, NIGHTLY_HOUR, minute))

    assert [r.partition_key for r in data.run_requests] == [DAY.isoformat()]


def test_on_the_first_partition_there_is_no_yesterday(defs, instance) -> None:
    data = tick(defs, instance, at(START_DATE, NIGHTLY_HOUR))

    assert [r.partition_key for r in data.run_requests] == [START_DATE.isoformat()]


def test_before_the_first_partition_it_skips(defs, instance) -> None:
    data = tick(defs, instance, at(START_DATE - timedelta(days=1), 12))

    assert data.run_requests == []
    assert "before JDE_START_DATE" in data.skip_message


@pytest.mark.parametrize(
    ("cron", "moment", "expected"),
    [
        ("*/15 * * * *", (1, 0), True),
        ("*/15 * * * *", (0, 45), False),
        ("*/15 * * * *", (1, 15), False),
        ("7 * * * *", (1, 7), True),
        ("7 * * * *", (2, 7), False),
        ("30 */4 * * *", (4, 30), True),
    ],
)
def test_first_tick_after_the_hour(cron: str, moment: tuple[int, int], expected: bool) -> None:
    assert is_first_tick_after(at(DAY, *moment), 1, cron, DEPLOYMENT.timezone) is expected


def test_the_schedule_follows_its_deployment(instance) -> None:
    """Another deployment (zone, cron, nightly hour) gives another schedule, in the same process."""
    chicago = DEPLOYMENT.model_copy(
        update={"timezone": "America/Chicago", "schedule_cron": "0 * * * *", "nightly_hour": 3}
    )
    defs = build_definitions(chicago, resources_from_env({}))
    schedule = defs.resolve_schedule_def("jde_to_mailchimp_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 * * * *", "America/Chicago")

    data = tick(defs, instance, datetime.combine(DAY, time(3), tzinfo=ZoneInfo("America/Chicago")))

    assert [r.partition_key for r in data.run_requests] == [
        (DAY - timedelta(days=1)).isoformat(),
        DAY.isoformat(),
    ]
    assert not tick(
        defs, instance, datetime.combine(DAY, time(2), tzinfo=ZoneInfo("America/Chicago"))
    ).run_requests[:-1]

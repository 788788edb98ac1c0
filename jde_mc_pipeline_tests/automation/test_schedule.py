"""`jde_to_mailchimp_schedule`, resolved through the real definitions (partition keys validated)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from jde_mc_pipeline.defs.automation import NIGHTLY_HOUR, is_first_tick_after
from jde_mc_pipeline.defs.partitions import JDE_TIMEZONE, START_DATE

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
    return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(JDE_TIMEZONE))


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
    assert is_first_tick_after(at(DAY, *moment), 1, cron, JDE_TIMEZONE) is expected

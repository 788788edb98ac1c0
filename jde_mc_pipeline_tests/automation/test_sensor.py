"""`jde_change_sensor` against the JDE emulator as a real server, evaluated against the real definitions
(so every requested partition key is checked against `upmj_partitions`)."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from jde_mc_pipeline.defs.automation.sensors import MAX_RUNS_PER_TICK, decode_cursor
from jde_mc_pipeline.emulators.ais.formats import from_julian
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline_tests.automation.conftest import SENSOR_NOW, post_rows
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.jde.conftest import emulator_dataset


def tick(defs, instance, jde_resource, cursor: str | None):
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"jde": jde_resource}, definitions=defs
    )
    return defs.resolve_sensor_def("jde_change_sensor").evaluate_tick(context)


def requested(data) -> list[str]:
    return [request.partition_key for request in data.run_requests]


def span(request: dg.RunRequest) -> tuple[str, str]:
    """The partitions a request covers: its range, or its one partition."""
    keys = request.partition_key_range
    return (keys.start, keys.end) if keys else (request.partition_key, request.partition_key)


def dataset_row(table: str, an8: int) -> dict:
    """The dataset's row of this party in `table`, without its stamps (the emulator stamps it now)."""
    prefix = TABLES[table].prefix
    row = next(r for r in emulator_dataset()[table] if r[f"{prefix}AN8"] == an8)
    return {k: v for k, v in row.items() if k not in (f"{prefix}UPMJ", f"{prefix}UPMT")}


@pytest.fixture
def settled(defs, instance, jde_resource) -> str:
    """The cursor after the first tick (the initial load)."""
    return tick(defs, instance, jde_resource, None).cursor


def test_first_tick_requests_the_initial_load_as_one_range_run(defs, instance, jde_resource) -> None:
    stamps = [
        (from_julian(row[f"{TABLES[name].prefix}UPMJ"]), row[f"{TABLES[name].prefix}UPMT"])
        for name, rows in emulator_dataset().items()
        for row in rows
    ]
    newest_day, newest_time = max(stamps)
    last = max(max(day for day, _ in stamps), START_DATE).isoformat()
    mark = f"{newest_day.isoformat()}T{newest_time:06d}"

    data = tick(defs, instance, jde_resource, None)

    assert json.loads(data.cursor) == {"upmj": newest_day.isoformat(), "upmt": newest_time}
    (request,) = data.run_requests
    assert span(request) == (START_DATE.isoformat(), last)
    assert request.run_key.endswith(f"@{mark}")


def test_first_tick_range_reaches_the_last_changed_day(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer
) -> None:
    post_rows(sensor_jde, "F0116", [{**dataset_row("F0116", 1016), "ALADD1": "1 New Street"}])

    (request,) = tick(defs, instance, jde_resource, None).run_requests

    assert span(request) == (
        START_DATE.isoformat(),
        SENSOR_NOW.date().isoformat(),
    )


def test_many_changed_days_become_one_range_run(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer, settled: str
) -> None:
    for day in range(MAX_RUNS_PER_TICK + 1):
        post_rows(sensor_jde, "F0101", [{**dataset_row("F0101", 1001 + day), "ABALPH": f"Day {day}"}])
        sensor_jde.clock.advance(86400)

    (request,) = tick(defs, instance, jde_resource, settled).run_requests

    last = SENSOR_NOW.date() + timedelta(days=MAX_RUNS_PER_TICK)
    assert span(request) == (
        SENSOR_NOW.date().isoformat(),
        last.isoformat(),
    )


def test_no_change_skips(defs, instance, jde_resource, settled: str) -> None:
    data = tick(defs, instance, jde_resource, settled)

    assert data.run_requests == []
    assert "no JDE change after" in data.skip_message
    assert data.cursor in (None, settled)


def test_a_change_requests_exactly_its_partition(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer, settled: str
) -> None:
    post_rows(sensor_jde, "F0101", [{**dataset_row("F0101", 1010), "ABALPH": "Renamed Party 10"}])

    data = tick(defs, instance, jde_resource, settled)

    assert requested(data) == [SENSOR_NOW.date().isoformat()]
    assert decode_cursor(data.cursor)[1].day == SENSOR_NOW.date()
    assert data.run_requests[0].run_key == f"{SENSOR_NOW.date().isoformat()}@{SENSOR_NOW:%Y-%m-%d}T120000"
    assert tick(defs, instance, jde_resource, data.cursor).skip_message  # the cursor round-trip


def test_a_second_change_on_the_same_day_is_a_new_run(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer, settled: str
) -> None:
    post_rows(sensor_jde, "F0101", [{**dataset_row("F0101", 1010), "ABALPH": "First change"}])
    first = tick(defs, instance, jde_resource, settled)
    sensor_jde.clock.advance(3600)
    post_rows(sensor_jde, "F0101", [{**dataset_row("F0101", 1011), "ABALPH": "Second change"}])

    second = tick(defs, instance, jde_resource, first.cursor)

    assert requested(second) == requested(first) == [SENSOR_NOW.date().isoformat()]
    assert second.run_requests[0].run_key != first.run_requests[0].run_key
    assert json.loads(second.cursor) == {"upmj": SENSOR_NOW.date().isoformat(), "upmt": 130000}


@pytest.mark.parametrize(
    ("table", "change"),
    [("F01151", {"EAEMAL": "changed.only.here@example.com"}), ("F0115", {"WPPH1": "555-9999"})],
)
def test_a_child_table_only_change_is_caught(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer, settled: str, table: str, change: dict
) -> None:
    sensor_jde.clock.advance(86400 * 2)  # two days later: a partition of its own
    post_rows(sensor_jde, table, [{**dataset_row(table, 1012), **change}])

    data = tick(defs, instance, jde_resource, settled)

    assert requested(data) == [(SENSOR_NOW.date() + timedelta(days=2)).isoformat()]


def test_changes_on_several_days_request_each_day(
    defs, instance, jde_resource, sensor_jde: JdeEmulatorServer, settled: str
) -> None:
    post_rows(sensor_jde, "F0101", [{**dataset_row("F0101", 1013), "ABALPH": "Day one"}])
    sensor_jde.clock.advance(86400)
    post_rows(sensor_jde, "F0115", [{**dataset_row("F0115", 1015), "WPPH1": "555-0000"}])

    data = tick(defs, instance, jde_resource, settled)

    assert requested(data) == [
        SENSOR_NOW.date().isoformat(),
        (SENSOR_NOW.date() + timedelta(days=1)).isoformat(),
    ]


def test_a_malformed_cursor_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="jde_change_sensor cursor"):
        decode_cursor('{"upmj": "yesterday"}')


def test_the_sensor_needs_only_jde(defs) -> None:
    # no audit resource: a tick can never open the DuckDB file beside a writing run
    assert defs.resolve_sensor_def("jde_change_sensor").required_resource_keys == {"jde"}

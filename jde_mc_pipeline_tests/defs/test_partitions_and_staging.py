"""The UPMJ partitions (window of a run, partition of a party); the staged-frame IO manager that stores
frames per partition: test_staging.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from jde_mc_pipeline.defs.deployment import deployment_from_env
from jde_mc_pipeline.defs.partitions import extraction_window, partition_of_parties, upmj_partitions
from jde_mc_pipeline.jde.extract import Watermark
from jde_mc_pipeline.settings.environment import SettingsError

START = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def test_start_date_errors_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="JDE_START_DATE is not set"):
        deployment_from_env({})
    with pytest.raises(SettingsError, match="JDE_START_DATE: Input should be a valid date"):
        deployment_from_env({"JDE_START_DATE": "1.3.2026"})
    assert deployment_from_env({"JDE_START_DATE": " 2026-03-01 "}).start_date == START


def test_partitions_reach_today() -> None:
    partitions = upmj_partitions(deployment_from_env({"JDE_START_DATE": START.isoformat()}))
    assert partitions.end_offset == 1
    assert partitions.get_first_partition_key() == START.isoformat()
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert partitions.get_last_partition_key() >= today


def test_the_first_partition_reads_all_history_others_their_days() -> None:
    history = extraction_window(START.isoformat(), day(2).isoformat(), START)
    assert history.start is None and history.end == Watermark(day(2), 235959)
    days = extraction_window(day(1).isoformat(), day(2).isoformat(), START)
    assert days.start == Watermark(day(1), 0) and days.end == Watermark(day(2), 235959)
    with pytest.raises(ValueError, match="ends before it starts"):
        extraction_window(day(2).isoformat(), day(1).isoformat(), START)


def _frame(rows: list[tuple[int, dt.date | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "AN8": pd.array([an8 for an8, _ in rows], dtype="Int64"),
            "UPMJ": pd.to_datetime([d for _, d in rows]),
        }
    )


def test_a_party_belongs_to_its_latest_change_inside_the_window() -> None:
    frames = {
        "F0101": _frame([(1, dt.date(2009, 1, 5)), (2, day(1)), (3, day(0)), (4, day(5))]),
        "F01151": _frame([(2, day(2)), (3, dt.date(2020, 1, 1)), (5, None)]),
    }

    first_run = partition_of_parties(frames, START.isoformat(), day(2).isoformat(), START)
    assert first_run.to_dict() == {
        1: START.isoformat(),  # all history counts as the first partition
        2: day(2).isoformat(),  # the latest change over all tables
        3: START.isoformat(),
        4: day(2).isoformat(),  # stamped after the window (written while the run read): clamped in
        5: day(2).isoformat(),
    }
    later_run = partition_of_parties(frames, day(1).isoformat(), day(1).isoformat(), START)
    assert later_run[2] == day(1).isoformat()  # day(2) is outside this run's window
    assert set(later_run) == {day(1).isoformat()}


def test_an_address_taking_effect_in_the_window_counts_as_a_change_on_that_day() -> None:
    old = dt.date(2025, 1, 5)
    f0116 = _frame([(7, old), (7, old), (8, old), (9, day(4)), (10, old)]).assign(
        EFTB=pd.to_datetime([dt.date(2020, 1, 1), day(3), day(5), day(3), None])
    )
    f0101 = _frame([(7, old), (8, day(2)), (9, old), (10, day(2)), (11, day(2))]).assign(
        EFTB=pd.to_datetime([None, None, None, None, day(3)])  # F0101's own EFTB is no address change
    )
    frames = {"F0101": f0101, "F0116": f0116}

    run = partition_of_parties(frames, day(2).isoformat(), day(4).isoformat(), START)
    assert run.to_dict() == {
        7: day(3).isoformat(),  # the address taking effect on day 3, UPMJ long before
        8: day(2).isoformat(),  # EFTB after the window: not yet a change
        9: day(4).isoformat(),  # a later update stamp wins
        10: day(2).isoformat(),
        11: day(2).isoformat(),
    }
    one_day = partition_of_parties(frames, day(3).isoformat(), day(3).isoformat(), START)
    assert one_day[7] == day(3).isoformat()
    history = partition_of_parties(frames, START.isoformat(), day(4).isoformat(), START)
    assert history[7] == day(3).isoformat() and history[10] == day(2).isoformat()

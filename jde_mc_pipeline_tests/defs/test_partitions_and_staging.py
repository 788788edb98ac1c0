"""The UPMJ partitions (window of a run, partition of a party) and the staged-frame IO manager."""

from __future__ import annotations

import datetime as dt
import os
import time

import dagster as dg
import pandas as pd
import pytest

from jde_mc_pipeline.defs.deployment import deployment_from_env
from jde_mc_pipeline.defs.partitions import extraction_window, partition_of_parties, upmj_partitions
from jde_mc_pipeline.defs.staging import StagedFrameIOManager, StagingError
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


class _Manager:
    """The IO manager driven through contexts built by Dagster's own test helpers."""

    partitions = dg.DailyPartitionsDefinition(start_date=START.isoformat())

    def __init__(self, tmp_path) -> None:
        self.io = StagedFrameIOManager(base_dir=str(tmp_path))
        self.key = dg.AssetKey(["jde", "F0101"])

    def store(self, frame: pd.DataFrame, keys: list[str], run_id: str = "run-1") -> None:
        context = dg.build_output_context(
            run_id=run_id,
            asset_key=self.key,
            asset_partitions_def=self.partitions,
            asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
        )
        self.io.handle_output(context, frame)

    def load(self, keys: list[str], producer: str | None = None) -> pd.DataFrame:
        upstream = None if producer is None else dg.build_output_context(run_id=producer, asset_key=self.key)
        context = dg.build_input_context(
            upstream_output=upstream,
            asset_key=self.key,
            asset_partitions_def=self.partitions,
            asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
        )
        return self.io.load_input(context)


def test_frames_are_staged_per_partition_and_loaded_by_range(tmp_path) -> None:
    manager = _Manager(tmp_path)
    keys = [day(n).isoformat() for n in range(3)]
    frame = pd.DataFrame(
        {"AN8": pd.array([1, 2, 3], dtype="Int64"), "partition_key": [keys[0], keys[2], keys[0]]}
    )

    manager.store(frame, keys)

    staged = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.pkl"))
    assert staged == [f"jde/F0101/{k}/run-1.pkl" for k in keys]
    middle = manager.load([keys[1]])
    assert middle.empty and list(middle.columns) == ["AN8", "partition_key"]
    assert middle["AN8"].dtype == "Int64"
    both = manager.load(keys)
    assert sorted(both["AN8"].tolist()) == [1, 2, 3] and both["AN8"].dtype == "Int64"
    assert manager.load([keys[2]])["AN8"].tolist() == [2]


def test_staging_refuses_rows_of_other_partitions_and_reports_missing_files(tmp_path) -> None:
    manager = _Manager(tmp_path)
    stray = pd.DataFrame({"AN8": [1], "partition_key": [day(9).isoformat()]})
    with pytest.raises(StagingError, match="outside this step"):
        manager.store(stray, [day(0).isoformat()])
    with pytest.raises(StagingError, match="no partition_key column"):
        manager.store(pd.DataFrame({"AN8": [1]}), [day(0).isoformat()])
    with pytest.raises(StagingError, match="materialize it for that partition first"):
        manager.load([day(4).isoformat()])


def test_a_run_reads_its_own_frames_while_another_run_stages_the_same_partition(tmp_path) -> None:
    manager = _Manager(tmp_path)
    key = [day(0).isoformat()]
    manager.store(pd.DataFrame({"AN8": [1], "partition_key": key}), key, run_id="sensor-run")
    manager.store(pd.DataFrame({"AN8": [2], "partition_key": key}), key, run_id="schedule-run")

    assert manager.load(key, producer="sensor-run")["AN8"].tolist() == [1]
    assert manager.load(key, producer="schedule-run")["AN8"].tolist() == [2]
    assert manager.load(key, producer="a-run-that-staged-nothing")["AN8"].tolist() == [2]  # the newest


def test_old_runs_files_are_pruned_when_the_partition_is_written_again(tmp_path) -> None:
    manager = _Manager(tmp_path)
    manager.io = StagedFrameIOManager(base_dir=str(tmp_path), keep_hours=1)
    key = [day(0).isoformat()]
    manager.store(pd.DataFrame({"AN8": [1], "partition_key": key}), key, run_id="old")
    manager.store(pd.DataFrame({"AN8": [2], "partition_key": key}), key, run_id="recent")
    folder = tmp_path / "jde" / "F0101" / key[0]
    two_hours_ago = time.time() - 7200
    os.utime(folder / "old.pkl", (two_hours_ago, two_hours_ago))

    manager.store(pd.DataFrame({"AN8": [3], "partition_key": key}), key, run_id="new")

    assert sorted(p.name for p in folder.iterdir()) == ["new.pkl", "recent.pkl"]

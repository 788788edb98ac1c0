"""Daily UPMJ partitions, and what a run over a range of them reads from JDE.

Why the first partition holds all history: Dagster's bookkeeping grows with partitions × assets
(measured: README, Partitions), so a partition per historical day is not an option. `JDE_START_DATE` is a
recent date; the partition of that date also holds every party whose changes are all on or before it,
so the initial load is that one partition. `end_offset=1` makes today's partition exist (the schedule
and the sensor request it).

`JDE_START_DATE` is read when this module is imported (the partitions must exist to load the code
location); a missing or malformed value raises `PartitionSettingsError` naming the variable.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from jde_mc_pipeline.jde.extract import Window

START_DATE_VARIABLE = "JDE_START_DATE"
TIMEZONE_VARIABLE = "JDE_TIMEZONE"


class PartitionSettingsError(ValueError):
    """`JDE_START_DATE` or `JDE_TIMEZONE` is missing or cannot be understood."""


def start_date_from_env(env: Mapping[str, str] | None = None) -> dt.date:
    """The first partition's date from `JDE_START_DATE` (ISO `YYYY-MM-DD`)."""
    env = os.environ if env is None else env
    raw = (env.get(START_DATE_VARIABLE) or "").strip()
    if not raw:
        raise PartitionSettingsError(
            f"{START_DATE_VARIABLE} is not set: the first daily UPMJ partition as YYYY-MM-DD, a recent date "
            "(that partition also holds all earlier history)"
        )
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise PartitionSettingsError(
            f"{START_DATE_VARIABLE} must be a date as YYYY-MM-DD, got {raw!r}"
        ) from None


def timezone_from_env(env: Mapping[str, str] | None = None) -> str:
    """JDE's time zone (`JDE_TIMEZONE`, default UTC): partitions are days in the zone UPMJ is written in."""
    env = os.environ if env is None else env
    name = (env.get(TIMEZONE_VARIABLE) or "UTC").strip()
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        raise PartitionSettingsError(f"{TIMEZONE_VARIABLE} {name!r} is not a known time zone") from None
    return name


START_DATE = start_date_from_env()
JDE_TIMEZONE = timezone_from_env()

upmj_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), end_offset=1, timezone=JDE_TIMEZONE
)
"""One partition per UPMJ day from JDE_START_DATE to today (inclusive) in JDE's time zone."""

FIRST_PARTITION_KEY = START_DATE.isoformat()


def key_range(partition_keys: Sequence[str]) -> tuple[str, str]:
    """First and last key of a run's partitions (keys are ISO dates, so they sort as dates)."""
    if not partition_keys:
        raise ValueError("a run over no partition")
    return min(partition_keys), max(partition_keys)


def extraction_window(first_key: str, last_key: str, start: dt.date = START_DATE) -> Window:
    """The JDE changes a run over partitions [first_key, last_key] reads.

    UPMJ in [first, last]; when `first_key` is the first partition, everything on or before `last`
    (the first partition holds all history).
    """
    first, last = dt.date.fromisoformat(first_key), dt.date.fromisoformat(last_key)
    if last < first:
        raise ValueError(f"partition range {first_key}...{last_key} ends before it starts")
    if first <= start:
        return Window.through(last)
    return Window.days(first, last)


def describe_window(first_key: str, last_key: str, start: dt.date = START_DATE) -> str:
    """The UPMJ window in words, for run metadata."""
    if dt.date.fromisoformat(first_key) <= start:
        return f"UPMJ <= {last_key} (all history through {last_key})"
    if first_key == last_key:
        return f"UPMJ = {first_key}"
    return f"UPMJ {first_key} .. {last_key}"


_CHANGE_DATES = {"F0116": ("UPMJ", "EFTB")}
"""Per table, the date columns that mark a change of the party on that day (UPMJ for the others)."""


def partition_of_parties(
    frames: Mapping[str, pd.DataFrame], first_key: str, last_key: str, start: dt.date = START_DATE
) -> pd.Series:
    """AN8 → partition key (ISO date) for every party in `frames`.

    A party belongs to the partition of its latest change date inside the run's window, over the rows
    of all six tables; an F0116 EFTB inside the window counts as a change on that day (the address takes
    effect then with no UPMJ change, jde/extract.py), so a party pulled for it lands in that day. Dates
    before the first partition count as the first partition (it holds all history); a party whose stamps
    all fall outside the window (written while the run read it) is clamped into the run's range, so every
    party pulled by a run gets one of the run's keys.
    """
    first, last = dt.date.fromisoformat(first_key), dt.date.fromisoformat(last_key)
    floor = max(first, start)
    low = pd.Timestamp.min if first <= start else pd.Timestamp(first)
    high = pd.Timestamp(last)
    parts = []
    for name, frame in frames.items():
        if frame.empty or "AN8" not in frame.columns:
            continue
        for column in _CHANGE_DATES.get(name, ("UPMJ",)):
            if column not in frame.columns:
                continue
            rows = frame[["AN8", column]].rename(columns={column: "UPMJ"}).dropna(subset=["AN8"])
            parts.append(rows.assign(UPMJ=rows["UPMJ"].where(rows["UPMJ"].between(low, high))))
    if not parts:
        return pd.Series(
            [], dtype=object, index=pd.Index([], dtype="int64", name="an8"), name="partition_key"
        )
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["AN8"] > 0]
    latest = rows.groupby(rows["AN8"].astype("int64"))["UPMJ"].max()
    days = latest.fillna(pd.Timestamp(last)).clip(lower=pd.Timestamp(floor), upper=high)
    keys = days.dt.strftime("%Y-%m-%d").astype(object)
    keys.index.name = "an8"
    keys.name = "partition_key"
    return keys

"""Daily UPMJ partitions, what a run over a range of them reads from JDE, and which partition a party is in.

Why the first partition holds all history: Dagster's bookkeeping grows with partitions × assets (measured:
docs/operations.md, Partitions), so a partition per historical day is not an option. `JDE_START_DATE` is a
recent date; the partition of that date also holds every party whose changes are all on or before it, so the
initial load is that one partition. `end_offset=1` makes today's partition exist (the schedule and the
sensor request it).

Nothing here reads the environment: the partitions are built from the `Deployment` when the definitions
load (defs/deployment.py), and every function takes the first partition's date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import dagster as dg
import numpy as np
import pandas as pd

from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.jde.extract import Window
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN


def upmj_partitions(deployment: Deployment) -> dg.DailyPartitionsDefinition:
    """One partition per UPMJ day from JDE_START_DATE to today (inclusive) in JDE's time zone."""
    return dg.DailyPartitionsDefinition(
        start_date=deployment.start_date.isoformat(), end_offset=1, timezone=deployment.timezone
    )


def key_range(partition_keys: Sequence[str]) -> tuple[str, str]:
    """First and last key of a run's partitions (keys are ISO dates, so they sort as dates)."""
    if not partition_keys:
        raise ValueError("a run over no partition")
    return min(partition_keys), max(partition_keys)


def extraction_window(first_key: str, last_key: str, start: dt.date) -> Window:
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


def describe_window(first_key: str, last_key: str, start: dt.date) -> str:
    """The UPMJ window in words, for run metadata."""
    if dt.date.fromisoformat(first_key) <= start:
        return f"UPMJ <= {last_key} (all history through {last_key})"
    if first_key == last_key:
        return f"UPMJ = {first_key}"
    return f"UPMJ {first_key} .. {last_key}"


_CHANGE_DATES = {"F0116": ("UPMJ", "EFTB")}
"""Per table, the date columns that mark a change of the party on that day (UPMJ for the others)."""


def partition_of_parties(
    frames: Mapping[str, pd.DataFrame], first_key: str, last_key: str, start: dt.date
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


def partition_keys(an8: pd.Series | np.ndarray, known: pd.Series, fallback: str) -> pd.Series:
    """The partition key of each AN8 from `known` (AN8 → key), `fallback` (the run's last partition) for
    the others: the one function every step uses to file a party's rows under its partition."""
    an8 = pd.Series(np.asarray(an8, dtype=np.int64))
    found = an8.map(known)
    return found.where(found.notna(), fallback).astype(object)


def staged_partitions(
    frames: Iterable[pd.DataFrame], an8_columns: Sequence[str] = ("AN8", "an8", "key")
) -> pd.Series:
    """AN8 → partition key, from staged frames that carry both (the first frame naming an AN8 wins)."""
    parts = []
    for frame in frames:
        if not len(frame) or PARTITION_COLUMN not in frame:
            continue
        column = next(c for c in an8_columns if c in frame.columns)
        an8 = pd.to_numeric(frame[column], errors="coerce")
        keep = an8.notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "an8": an8[keep].astype(np.int64).to_numpy(),
                    "key": frame[PARTITION_COLUMN].to_numpy()[keep],
                }
            )
        )
    if not parts:
        return pd.Series([], dtype=object, index=pd.Index([], dtype=np.int64))
    rows = pd.concat(parts, ignore_index=True).drop_duplicates("an8")
    return pd.Series(rows["key"].to_numpy(), index=rows["an8"].to_numpy())

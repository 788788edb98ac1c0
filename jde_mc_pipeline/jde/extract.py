"""Incremental extraction of parties from the six address-book tables (docs/ais.md).

A party has changed when a row of *any* of its tables has an update stamp (UPMJ date, UPMT time) in the
window: a new e-mail (F01151) or phone (F0115) leaves F0101.UPMJ untouched, so every
table is polled and the address numbers (AN8) are united. The full current rows of those parties are then
read from every table with `AN8 LIST` chunks, so that the mapping always sees whole parties. A window
without a start (all history: the initial load) holds nearly every party, so it reads every row of each
table once instead and applies the window itself (`_read_history`), over `read_sessions` AIS sessions
(jde/slices.py).

Windows compare (UPMJ, UPMT) pairs, because UPMJ alone has day resolution:
`(UPMJ > d) OR (UPMJ = d AND UPMT >= t)` for the start and the mirror image for the end.
- The start is **inclusive** by default: a change stamped in the same second as the watermark, but
  written after the previous read, is not missed; re-reading the changes of that one second is harmless
  as the sync is idempotent. The probe uses an exclusive start instead (otherwise a watermark would always
  look changed).
- The end is inclusive; an end without a time (or with 23:59:59) means the whole end day.
- No start means all history; no end means up to now.
These are the three uses: changes since a watermark (`extract_window`), the first daily partition that
holds all history (`extract_through`: UPMJ on or before D) and a range of days (`extract_days`).

Effective-dated addresses: an F0116 row with a future beginning date EFTB becomes
the current address on that day without any UPMJ change, so no update stamp would ever reveal it. A window
with both a start and an end also reads the AN8s of the F0116 rows with EFTB between the start and end
*days* (one more small BROWSE, reported as `changed_by_table["F0116.EFTB"]`), so a party whose address
takes effect on day D counts as changed on D. The open "all history" window (no start) skips it: every
current address is read then anyway. EFTB never moves the watermark (it is not an update stamp), and the
probe stays UPMJ-only, so the sensor does not see an address taking effect: the schedule's runs of today's
partition do.

The probe for the sensor reads only UPMJ/UPMT, newest first, one small page per table: with no change
that is one empty call per table plus the token request (and the logout of the cycle).

Watermarks never move past "now" in JDE's time zone (`jde_now`): a stamp from the future (a machine with
a skewed clock or in another zone) would otherwise push the watermark ahead and hide
every real change until the clock caught up. Such rows are reported again until their time has come,
which costs a re-read, never a missed change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product
from zoneinfo import ZoneInfo

import pandas as pd

from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.dates import hhmmss_to_time, time_to_hhmmss, yyyymmdd_to_date
from jde_mc_pipeline.jde.frames import empty_frame
from jde_mc_pipeline.jde.query import Condition, Query
from jde_mc_pipeline.jde.session import ClientStats
from jde_mc_pipeline.jde.slices import read_tables
from jde_mc_pipeline.jde.tables import TABLES

_END_OF_DAY = 235959
EFFECTIVE_DATE_KEY = "F0116.EFTB"
"""The `changed_by_table` key of the parties whose F0116 address takes effect in the window."""


@dataclass(frozen=True, order=True)
class Watermark:
    """A JDE update stamp: UPMJ `day` and UPMT `time` (HHMMSS, 93000 = 09:30:00), ordered as a pair."""

    day: dt.date
    time: int = 0

    def __post_init__(self) -> None:
        hhmmss_to_time(self.time)  # ValueError on an impossible time


def jde_now(timezone: str, now: dt.datetime | None = None) -> Watermark:
    """The current moment (or `now`, if aware) as a JDE stamp in `timezone`, to the second."""
    moment = (now or dt.datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone))
    return Watermark(moment.date(), time_to_hhmmss(moment.time()))


@dataclass(frozen=True)
class Window:
    """Update stamps from `start` (inclusive unless `start_exclusive`) to `end` (inclusive)."""

    start: Watermark | None = None
    end: Watermark | None = None
    start_exclusive: bool = False

    @classmethod
    def through(cls, day: dt.date) -> Window:
        """Every change on or before `day` (all history up to that day)."""
        return cls(end=Watermark(day, _END_OF_DAY))

    @classmethod
    def days(cls, first: dt.date, last: dt.date | None = None) -> Window:
        """Every change with UPMJ in [first, last] (one day when `last` is omitted)."""
        return cls(start=Watermark(first, 0), end=Watermark(last or first, _END_OF_DAY))

    @property
    def effective_days(self) -> tuple[dt.date, dt.date] | None:
        """The days [first, last] whose F0116 EFTB counts as a change, or None for an open window."""
        if self.start is None or self.end is None:
            return None
        return self.start.day, self.end.day

    def query(self) -> Query:
        """The window as AIS conditions: an OR of AND-groups (see query.py)."""
        return Query.any_of(*(a + b for a, b in product(self._start_groups(), self._end_groups())))

    def _start_groups(self) -> list[tuple[Condition, ...]]:
        if self.start is None:
            return [()]
        day, time = self.start.day, self.start.time
        if time == 0 and not self.start_exclusive:
            return [(Condition("UPMJ", "GREATER_EQUAL", (day,)),)]
        upmt = "GREATER" if self.start_exclusive else "GREATER_EQUAL"
        return [
            (Condition("UPMJ", "GREATER", (day,)),),
            (Condition("UPMJ", "EQUAL", (day,)), Condition("UPMT", upmt, (time,))),
        ]

    def _end_groups(self) -> list[tuple[Condition, ...]]:
        if self.end is None:
            return [()]
        day, time = self.end.day, self.end.time
        if time == _END_OF_DAY:
            return [(Condition("UPMJ", "LESS_EQUAL", (day,)),)]
        return [
            (Condition("UPMJ", "LESS", (day,)),),
            (Condition("UPMJ", "EQUAL", (day,)), Condition("UPMT", "LESS_EQUAL", (time,))),
        ]


@dataclass
class Extraction:
    """What an extraction read: the six typed frames (frames contract), keyed by table name.

    `an8s` is the union of changed parties, `changed_by_table` says which table revealed each (plus
    `"F0116.EFTB"`: addresses taking effect in the window, see the module doc), and `watermark` is the
    greatest (UPMJ, UPMT) seen in the window, at most `jde_now` (None when nothing changed).
    """

    window: Window
    frames: dict[str, pd.DataFrame]
    an8s: frozenset[int]
    changed_by_table: dict[str, frozenset[int]]
    watermark: Watermark | None
    stats: ClientStats = field(default_factory=ClientStats)


@dataclass(frozen=True)
class Probe:
    """The change probe's answer: UPMJ days with changes after the watermark, and the new watermark."""

    dates: tuple[dt.date, ...]
    watermark: Watermark | None
    stats: ClientStats

    @property
    def changed(self) -> bool:
        return bool(self.dates)


def changed_an8s(client: AisClient, window: Window) -> tuple[dict[str, frozenset[int]], Watermark | None]:
    """Per table, the AN8s with an update stamp in the window, and the greatest stamp seen.

    Reads AN8, UPMJ and UPMT (plus the key columns that make paging resumable), nothing else. A window
    with a start and an end also reports, under `EFFECTIVE_DATE_KEY`, the AN8s of the F0116 rows taking
    effect on one of its days (module doc).
    """
    query = window.query()
    found: dict[str, frozenset[int]] = {}
    best: tuple[str, int] | None = None
    for name, spec in TABLES.items():
        an8_key, upmj_key, upmt_key = (spec.output_key(a) for a in ("AN8", "UPMJ", "UPMT"))
        an8s: set[int] = set()
        for rows in client.iter_pages(name, query, columns=["AN8", "UPMJ", "UPMT"]):
            an8s.update(_an8(row.get(an8_key), name) for row in rows)
            stamps = [(str(r.get(upmj_key) or ""), int(r.get(upmt_key) or 0)) for r in rows]
            if stamps:
                best = max(stamps) if best is None else max(best, *stamps)
        found[name] = frozenset(an8s)
    if window.effective_days is not None:
        found[EFFECTIVE_DATE_KEY] = _addresses_taking_effect(client, *window.effective_days)
    return found, _watermark(best)


def _addresses_taking_effect(client: AisClient, first: dt.date, last: dt.date) -> frozenset[int]:
    """AN8s of the F0116 rows with EFTB in [first, last]: they become current with no UPMJ change."""
    an8_key = TABLES["F0116"].output_key("AN8")
    query = Query.all_of(Condition("EFTB", "BETWEEN", (first, last)))
    pages = client.iter_pages("F0116", query, columns=["AN8", "EFTB"])
    return frozenset(_an8(row.get(an8_key), "F0116") for rows in pages for row in rows)


def _an8(value: object, table: str) -> int:
    """An address number from a rowset; anything but a whole number stops the extraction naming the row.

    `int()` would cut 5006.5 to 5006: the party read back by `AN8 LIST` would then be another one or none,
    and the row would vanish from the sync without a word.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"{table}.AN8: {value!r} is not an address number (row AN8={value!r})")


def read_parties(
    client: AisClient, an8s: Iterable[int], chunk_size: int | None = None
) -> dict[str, pd.DataFrame]:
    """The full current rows of these parties from all six tables (`AN8 LIST` in chunks)."""
    wanted = sorted(set(an8s))
    if not wanted:
        return {name: empty_frame(spec, client.timezone) for name, spec in TABLES.items()}
    return {name: client.browse_an8s(name, wanted, chunk_size=chunk_size) for name in TABLES}


def extract_window(client: AisClient, window: Window, chunk_size: int | None = None) -> Extraction:
    """Parties changed in `window` with their full current rows.

    Changed: an update stamp in any of the six tables, or an F0116 address taking effect (module doc).
    """
    before = client.stats.copy()
    if window.start is None:
        frames, by_table, watermark = _read_history(client, window)
        union = frozenset().union(*by_table.values())
    else:
        by_table, watermark = changed_an8s(client, window)
        union = frozenset().union(*by_table.values())
        frames = read_parties(client, union, chunk_size)
    capped = None if watermark is None else min(watermark, jde_now(client.timezone))
    return Extraction(window, frames, union, by_table, capped, client.stats - before)


def _read_history(
    client: AisClient, window: Window
) -> tuple[dict[str, pd.DataFrame], dict[str, frozenset[int]], Watermark | None]:
    """A window without a start (all history up to its end: the initial load) read in one pass.

    Its parties are nearly every party, so reading the stamps of every row first and then every row
    again by `AN8 LIST` would read each table twice: here every row is read once, the window is applied
    to the stamps locally, and the rows of parties with no stamp in the window are dropped. Same frames,
    same parties, same watermark as the two-pass path; about half the AIS calls.
    """
    frames = _browse_tables(client, list(TABLES))
    found: dict[str, frozenset[int]] = {}
    best: Watermark | None = None
    for name, frame in frames.items():
        inside = _in_window(frame, window.end)
        found[name] = frozenset(int(an8) for an8 in frame.loc[inside, "AN8"].dropna())
        stamped = frame.loc[inside & frame["UPMJ"].notna(), ["UPMJ", "UPMT"]]
        if not stamped.empty:
            newest = stamped.sort_values(["UPMJ", "UPMT"]).iloc[-1]
            seen = Watermark(newest["UPMJ"].date(), int(newest["UPMT"]))
            best = seen if best is None else max(best, seen)
    union = frozenset().union(*found.values())
    for name, frame in frames.items():
        kept = frame["AN8"].isin(union)
        frames[name] = frame if kept.all() else frame.loc[kept].reset_index(drop=True)
    return frames, found, best


def _browse_tables(client: AisClient, names: list[str]) -> dict[str, pd.DataFrame]:
    """Every row of these tables, read by `client.read_sessions` AIS sessions at once (jde/slices.py:
    AN8 slices from one shared queue; with one session each table whole, with no extra call).

    One session reads its pages one after the other and waits a round trip for each: at 250 ms a call
    the ~670 calls of 100,000 parties take minutes. N sessions share them (see slices.py for the calls
    that sharing adds). Each extra session has its own token, logged out at the end.
    `JDE_MC_AIS_READ_SESSIONS=1` reads one table at a time, for an AIS whose administrator wants one
    session per client.
    """
    return read_tables(client, names)


def _in_window(frame: pd.DataFrame, end: Watermark | None) -> pd.Series:
    """Rows whose (UPMJ, UPMT) is at or before `end`, as AIS compares them (a null UPMJ never matches a
    condition; with no end there is no condition, so every row is in)."""
    if end is None:
        return pd.Series(True, index=frame.index)
    day = pd.Timestamp(end.day)
    if end.time == _END_OF_DAY:
        return (frame["UPMJ"] <= day).fillna(False)
    return ((frame["UPMJ"] < day) | ((frame["UPMJ"] == day) & (frame["UPMT"] <= end.time))).fillna(False)


def extract_since(
    client: AisClient, start: Watermark, end: Watermark | None = None, chunk_size: int | None = None
) -> Extraction:
    """Parties changed at or after `start` (inclusive, see the module doc) and up to `end`."""
    return extract_window(client, Window(start=start, end=end), chunk_size)


def extract_through(client: AisClient, day: dt.date, chunk_size: int | None = None) -> Extraction:
    """Parties with a change on or before `day`: the first daily partition, which holds all history."""
    return extract_window(client, Window.through(day), chunk_size)


def extract_days(
    client: AisClient, first: dt.date, last: dt.date | None = None, chunk_size: int | None = None
) -> Extraction:
    """Parties with a change whose UPMJ (or whose F0116 EFTB) is in [first, last] (one day if no `last`)."""
    return extract_window(client, Window.days(first, last), chunk_size)


def probe_changes(
    client: AisClient,
    watermark: Watermark | None,
    *,
    floor: dt.date | None = None,
    page_size: int = 1000,
    now: dt.datetime | None = None,
) -> Probe:
    """The UPMJ days with changes strictly after `watermark`, and the greatest (UPMJ, UPMT) seen.

    Per table one BROWSE of UPMJ/UPMT, newest first, at most `page_size` rows. When AIS has more rows
    than that, the next call asks only for days before the oldest day seen (so every call finds at least
    one new day). Days before `floor` (the first partition, which holds all history) are reported as
    `floor` and end the scan, so a watermark far in the past costs one call per table, not one per day.
    With no watermark every change counts. The new watermark is the old one when nothing changed, and
    never later than `now` (default: the current time) in the client's JDE time zone.
    """
    before = client.stats.copy()
    window = Window(start=watermark, start_exclusive=True)
    days: set[dt.date] = set()
    best = watermark
    for name in TABLES:
        query = window.query()
        while True:
            frame, more = client.first_page(
                name, query, ["UPMJ", "UPMT"], [("UPMJ", "DESC"), ("UPMT", "DESC")], page_size
            )
            frame = frame[frame["UPMJ"].notna()]
            if frame.empty:
                break
            newest = frame.sort_values(["UPMJ", "UPMT"]).iloc[-1]
            seen = Watermark(newest["UPMJ"].date(), int(newest["UPMT"]))
            best = seen if best is None else max(best, seen)
            page_days = set(frame["UPMJ"].dt.date)
            oldest = min(page_days)
            if floor is not None and oldest < floor:
                days.update(d for d in page_days if d >= floor)
                days.add(floor)
                break
            days.update(page_days)
            if not more:
                break
            query = query.and_(Condition("UPMJ", "LESS", (oldest,)))
    limit = jde_now(client.timezone, now)
    if best is not None and best > limit:
        best = limit if watermark is None else max(limit, watermark)
    return Probe(tuple(sorted(days)), best, client.stats - before)


def _watermark(stamp: tuple[str, int] | None) -> Watermark | None:
    if stamp is None:
        return None
    day = yyyymmdd_to_date(stamp[0])
    return None if day is None else Watermark(day, stamp[1])

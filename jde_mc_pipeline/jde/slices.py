"""Whole-table reads shared by several AIS sessions: the initial load (`JDE_MC_AIS_READ_SESSIONS`).

With whole tables as the unit of work, no more than about three sessions can help: the biggest table
bounds the time. So each table is cut into AN8 ranges (slices), and N sessions take (table, slice) pairs
from one shared queue until it is empty: no session idles while another still has a long table ahead.

- Bounds: the AN8 span of F0101 (every party has its row there), from two one-row calls (lowest and
  highest AN8), made while the extra sessions log in. The first slice has no lower bound and the last no
  upper bound, so a row whose AN8 lies outside that span (AN8 0, an orphan child row, a party added
  meanwhile) is read too. AN8 is the first key column of all six tables and a key column is never null
  in JDE, so every row falls in exactly one slice: nothing is lost, nothing is read twice.
- Slices per table: `SLICES_PER_SESSION` per session, so that the queue's tail is short (a session that
  finds it empty waits at most for one slice of another), but never narrower than one page of AN8
  numbers: each slice costs at least one call, and a small address book cut into many slices would make
  calls that each return a handful of rows.
- Order: the queue holds the tables one after the other (their sizes are unknown without a call per
  table), each table's slices in AN8 order; a table's slices are then joined in AN8 order, the key order
  a whole-table read returns, so the frames are those of one session reading each table whole.
- Extra AIS calls over one session: the two span calls, and at most one per slice beyond the first of
  each table (each slice ends on a partly filled page): at most 2 + 6 × (2N − 1), 92 for N = 8 (about 14
  % more than the ~670 calls of 100,000 parties; each costs a round trip, 250 ms on a slow AIS), plus one
  token request and one logout per extra session.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import pandas as pd

from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.query import Condition, Query

SLICES_PER_SESSION = 2
SPAN_TABLE = "F0101"


@dataclass(frozen=True)
class Slice:
    """The rows of `table` with `low <= AN8 < high`; a missing bound is open."""

    table: str
    low: int | None = None
    high: int | None = None

    def query(self) -> Query | None:
        """The slice's AN8 conditions (None: the whole table, the very call of a one-session read)."""
        conditions = []
        if self.low is not None:
            conditions.append(Condition("AN8", "GREATER_EQUAL", (self.low,)))
        if self.high is not None:
            conditions.append(Condition("AN8", "LESS", (self.high,)))
        return Query.all_of(*conditions) if conditions else None


def read_tables(client: AisClient, names: list[str]) -> dict[str, pd.DataFrame]:
    """Every row of these tables (key order), read by `client.read_sessions` AIS sessions at once.

    One session reads each table whole, with no extra call. More sessions: `client` and N − 1 siblings,
    each with its own token, logged out at the end (also when a read fails; the others then stop after
    their current slice), their calls counted on `client.stats`.
    """
    sessions = client.read_sessions
    if sessions <= 1:
        return {name: client.browse(name) for name in names}
    siblings = [client.sibling() for _ in range(sessions - 1)]
    try:
        with ThreadPoolExecutor(sessions, thread_name_prefix="ais-read") as pool:
            logins = [pool.submit(sibling.login) for sibling in siblings]
            try:
                span = an8_span(client)
            finally:
                for login in logins:
                    login.result()
            plan = {name: plan_slices(name, span, sessions, client.page_size) for name in names}
            work = deque(piece for pieces in plan.values() for piece in pieces)
            read: dict[Slice, pd.DataFrame] = {}
            failed = threading.Event()
            runs = [pool.submit(_drain, reader, work, read, failed) for reader in (client, *siblings)]
            for run in runs:
                run.result()
    finally:
        for sibling in siblings:
            sibling.close()
            client.stats.add(sibling.stats)  # after the logout, which it counts
    return {name: _joined([read.pop(piece) for piece in pieces]) for name, pieces in plan.items()}


def an8_span(client: AisClient) -> tuple[int, int] | None:
    """The lowest and highest AN8 of F0101 (two one-row calls), or None when it has no rows."""
    lowest, _ = client.first_page(SPAN_TABLE, None, ["AN8"], [("AN8", "ASC")], 1)
    if lowest.empty:
        return None
    highest, _ = client.first_page(SPAN_TABLE, None, ["AN8"], [("AN8", "DESC")], 1)
    return int(lowest["AN8"].iloc[0]), int(highest["AN8"].iloc[0])


def plan_slices(table: str, span: tuple[int, int] | None, sessions: int, page_size: int) -> list[Slice]:
    """The slices of one table in AN8 order, open at both ends (module doc); one slice without a span."""
    if span is None:
        return [Slice(table)]
    low, high = span
    width = high - low + 1
    count = max(1, min(SLICES_PER_SESSION * sessions, math.ceil(width / page_size)))
    edges: list[int | None] = [None, *(low + width * i // count for i in range(1, count)), None]
    return [Slice(table, start, end) for start, end in pairwise(edges)]


def _drain(
    reader: AisClient, work: deque[Slice], read: dict[Slice, pd.DataFrame], failed: threading.Event
) -> None:
    """Read slices from the shared queue until it is empty or another session has failed."""
    while not failed.is_set():
        try:
            piece = work.popleft()  # atomic: two sessions never take the same slice
        except IndexError:
            return
        try:
            read[piece] = reader.browse(piece.table, piece.query())
        except BaseException:
            failed.set()
            raise


def _joined(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One table's slices, in AN8 order, as one frame (empty slices left out: they add no rows, and
    pandas warns about empty frames in a concatenation)."""
    filled = [frame for frame in frames if len(frame)]
    if len(filled) <= 1:
        return filled[0] if filled else frames[0]
    return pd.concat(filled, ignore_index=True)

"""The initial load read by several AIS sessions in AN8 slices (jde/slices.py), over real HTTP.

The `jde_emulator` data set (conftest.py): parties 1001-1030 in six tables, the emulator clock at
2025-11-27 12:00:00 (rows posted here are stamped with it).
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any

import pandas as pd
import pytest
import requests

from jde_mc_pipeline.jde.extract import Extraction, extract_through
from jde_mc_pipeline.jde.slices import SLICES_PER_SESSION, Slice, plan_slices
from jde_mc_pipeline_tests.jde.test_extract import make_client, upsert

THROUGH = dt.date(2026, 1, 1)


def stats(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/_emulator/stats", timeout=5).json()


def initial_load(url: str, sessions: int, page_size: int = 2) -> Extraction:
    with make_client(url, page_size=page_size, read_sessions=sessions) as client:
        return extract_through(client, THROUGH)


def assert_same_read(sliced: Extraction, alone: Extraction) -> None:
    assert sliced.an8s == alone.an8s and sliced.watermark == alone.watermark
    assert sliced.changed_by_table == alone.changed_by_table
    for name, frame in alone.frames.items():
        pd.testing.assert_frame_equal(sliced.frames[name], frame, obj=name)  # rows, order, dtypes


@pytest.mark.parametrize("sessions", [4, 8])
def test_n_sessions_read_the_frames_of_one_and_log_every_token_out(jde_emulator: Any, sessions: int) -> None:
    """Frames (row order and dtypes included), parties and watermark as one session reads them; one token
    per session, each logged out; the calls of every session counted on the caller's stats."""
    alone = initial_load(jde_emulator.url, 1)
    before = stats(jde_emulator.url)
    sliced = initial_load(jde_emulator.url, sessions)
    after = stats(jde_emulator.url)
    assert_same_read(sliced, alone)
    assert after["tokens_issued"] - before.get("tokens_issued", 0) == sessions
    assert after["logouts"] - before.get("logouts", 0) == sessions and after["tokens_active"] == 0
    assert sliced.stats.tokens == sessions - 1  # the caller's own token was requested before the window
    assert sliced.stats.logouts == sessions - 1  # the caller's own logs out with its block
    # 30 AN8s at 2 rows a page: min(2 × sessions, 15) slices per table, read on top of the two span calls
    slices = min(SLICES_PER_SESSION * sessions, 15)
    assert sliced.stats.rows == alone.stats.rows + 2
    assert alone.stats.data_calls + 2 <= sliced.stats.data_calls <= alone.stats.data_calls + 2 + 6 * slices


def test_one_session_reads_each_table_whole_with_no_extra_call(jde_emulator: Any) -> None:
    alone = initial_load(jde_emulator.url, 1, page_size=100)
    assert alone.stats.data_calls == 6 and alone.stats.tokens == 0


def test_sparse_and_odd_an8s_are_read_once_by_every_slice_count(jde_emulator: Any) -> None:
    """Parties far apart (AN8 5 and 9,999,999 set the span), parties on and just below every slice edge,
    and child rows whose AN8 lies outside the F0101 span (AN8 0, and above the highest party: orphans)
    are all read exactly once: the same frames as one session, whatever the number of slices."""
    low, high = 5, 9_999_999
    edges = [piece.low for piece in plan_slices("F0101", (low, high), 8, 2)[1:]]
    assert len(edges) == SLICES_PER_SESSION * 8 - 1
    parties = {low, high, 77_777, *edges, *(edge - 1 for edge in edges)}
    upsert(jde_emulator.url, "F0101", [{"ABAN8": an8, "ABALPH": f"Sparse {an8}"} for an8 in sorted(parties)])
    upsert(
        jde_emulator.url,
        "F0115",
        [{"WPAN8": an8, "WPIDLN": 0, "WPRCK7": 1, "WPPH1": "555-0100"} for an8 in (0, high + 1, *edges)],
    )
    upsert(jde_emulator.url, "F0111", [{"WWAN8": 0, "WWIDLN": 0, "WWMLNM": "No party"}])
    alone = initial_load(jde_emulator.url, 1)
    for sessions in (2, 4, 8):
        sliced = initial_load(jde_emulator.url, sessions)
        assert_same_read(sliced, alone)
    assert set(alone.frames["F0101"]["AN8"]) == set(range(1001, 1031)) | parties
    assert {0, high + 1} <= set(alone.frames["F0115"]["AN8"]) and 0 in set(alone.frames["F0111"]["AN8"])
    assert not alone.frames["F0115"].duplicated(["AN8", "IDLN", "RCK7"]).any()


def test_slices_cover_every_an8_once_in_order() -> None:
    """Open at both ends, each slice starting where the previous one ends, never narrower than a page of
    AN8 numbers, at most SLICES_PER_SESSION per session."""
    pieces = plan_slices("F0115", (1, 100_000), 4, 1000)
    assert len(pieces) == SLICES_PER_SESSION * 4
    assert pieces[0].low is None and pieces[-1].high is None
    assert all(a.high == b.low for a, b in pairwise(pieces))
    assert [p.low for p in pieces[1:]] == sorted({p.low for p in pieces[1:]})
    assert len(plan_slices("F0115", (1, 2_500), 8, 1000)) == 3  # 2,500 AN8s: three pages' worth
    assert len(plan_slices("F0115", (7, 7), 8, 1)) == 1  # one AN8: the whole table
    assert plan_slices("F0115", None, 8, 1000) == [Slice("F0115")]  # F0101 empty: the whole table
    assert Slice("F0115").query() is None

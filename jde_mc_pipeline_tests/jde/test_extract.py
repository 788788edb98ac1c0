"""Incremental extraction and the change probe over real HTTP against the emulator.

The `jde_emulator` data set (conftest.py): parties 1001-1030 stamped 2025-01-01 + 10 days each
(UPMT 080000 + 100 n), 1029 and 1030 both on 2025-11-20 at 09:30 and 14:30, and 1005's e-mail changed
alone on 2025-11-25 at 10:15:00. The emulator clock stands at 2025-11-27 12:00:00.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.dates import date_to_julian
from jde_mc_pipeline.jde.errors import AisError
from jde_mc_pipeline.jde.extract import (
    EFFECTIVE_DATE_KEY,
    Watermark,
    Window,
    changed_an8s,
    extract_days,
    extract_since,
    extract_through,
    extract_window,
    probe_changes,
    read_parties,
)
from jde_mc_pipeline.jde.session import RetryPolicy
from jde_mc_pipeline.jde.tables import TABLES

FAST_RETRY = RetryPolicy(max_attempts=6, initial_wait=0.001, max_wait=0.01)
NOV = {day: dt.date(2025, 11, day) for day in range(1, 31)}


def make_client(url: str, **options: Any) -> AisClient:
    return AisClient(url, "JDE", "JDE", environment="JDV920", retry=FAST_RETRY, read_timeout=10.0, **options)


def upsert(url: str, table: str, rows: list[dict[str, Any]]) -> None:
    requests.post(f"{url}/_emulator/tables/{table}/rows", json=rows, timeout=5).raise_for_status()


def data_requests(url: str) -> int:
    served = requests.get(f"{url}/_emulator/stats", timeout=5).json()["requests"]
    return sum(sum(counts.values()) for path, counts in served.items() if "/dataservice" in path)


def test_a_child_table_only_change_is_caught(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        result = extract_since(client, Watermark(NOV[21]))
    assert result.an8s == {1005}
    assert result.changed_by_table["F01151"] == {1005} and result.changed_by_table["F0101"] == frozenset()
    assert result.watermark == Watermark(NOV[25], 101500)
    f0101 = result.frames["F0101"]
    assert list(f0101["AN8"]) == [1005]  # the whole party is read, not only the changed table
    assert f0101["UPMJ"].iloc[0] == pd.Timestamp("2025-02-10")
    assert list(result.frames["F0111"]["AN8"]) == [1005]
    assert result.frames["F01151"]["EMAL"].tolist() == ["party5@example.com"]


def test_frames_follow_the_contract(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, timezone="America/Chicago") as client:
        result = extract_days(client, NOV[20])
    assert set(result.frames) == set(TABLES)
    for name, frame in result.frames.items():
        assert list(frame.columns) == [*TABLES[name].read_aliases(), "updated_at"], name
        assert str(frame["updated_at"].dtype) == "datetime64[ns, America/Chicago]"
    assert result.frames["F03012"].empty  # 1029/1030 are companies: no customer master
    assert result.frames["F03012"]["AN8"].dtype == "Int64"


def test_same_day_changes_are_split_by_upmt(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        afternoon = extract_since(client, Watermark(NOV[20], 120000), end=Watermark(NOV[20], 235959))
        morning = extract_window(client, Window(start=Watermark(NOV[20]), end=Watermark(NOV[20], 100000)))
        at_the_second = extract_since(client, Watermark(NOV[20], 143000), end=Watermark(NOV[24]))
        after_the_second = extract_window(
            client, Window(start=Watermark(NOV[20], 143000), end=Watermark(NOV[24]), start_exclusive=True)
        )
    assert afternoon.an8s == {1030}
    assert morning.an8s == {1029}
    assert at_the_second.an8s == {1030}  # the start is inclusive
    assert after_the_second.an8s == frozenset()
    assert after_the_second.frames["F0101"].empty and after_the_second.watermark is None


def test_history_through_a_day_and_a_range_of_days(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        through = extract_through(client, dt.date(2025, 1, 31))
        days = extract_days(client, NOV[20], NOV[25])
        one_day = extract_days(client, NOV[25])
    assert through.an8s == {1001, 1002, 1003, 1004}  # 01-01, 01-11, 01-21, 01-31
    assert sorted(through.frames["F0116"]["AN8"]) == [1001, 1001, 1002, 1003, 1004]
    assert days.an8s == {1005, 1029, 1030}
    assert one_day.an8s == {1005}


def future_address(an8: int, takes_effect: dt.date, street: str) -> dict[str, Any]:
    """An F0116 row taking effect on `takes_effect`, written long before (UPMJ 2025-02-01)."""
    return {
        "ALAN8": an8,
        "ALEFTB": date_to_julian(takes_effect),
        "ALADD1": street,
        "ALCTY1": "Denver",
        "ALADDS": "CO",
        "ALCTR": "US",
        "ALUPMJ": date_to_julian(dt.date(2025, 2, 1)),
        "ALUPMT": 80000,
    }


def test_an_address_taking_effect_counts_as_a_change_on_its_day(jde_emulator: Any) -> None:
    """§6.9 pitfall 5: the row becomes current on its EFTB day with no UPMJ change."""
    upsert(
        jde_emulator.url,
        "F0116",
        [future_address(1012, NOV[22], "12 Future Street"), future_address(1013, NOV[23], "13 Later Lane")],
    )
    with make_client(jde_emulator.url) as client:
        on_the_day = extract_days(client, NOV[22])
        next_day = extract_days(client, NOV[23])
        week = extract_days(client, NOV[20], NOV[25])
    assert on_the_day.an8s == {1012}
    assert on_the_day.changed_by_table[EFFECTIVE_DATE_KEY] == {1012}
    assert all(not on_the_day.changed_by_table[name] for name in TABLES)  # no update stamp in the window
    assert on_the_day.watermark is None  # EFTB is not an update stamp
    f0116 = on_the_day.frames["F0116"]
    assert sorted(f0116["ADD1"]) == ["12 Future Street", "12 Main Street"]  # the whole party
    assert set(f0116["UPMJ"]) == {
        pd.Timestamp("2025-02-01"),
        pd.Timestamp("2025-01-01") + pd.Timedelta(days=110),
    }
    assert list(on_the_day.frames["F0101"]["AN8"]) == [1012]
    # 6 UPMJ windows + 1 EFTB BETWEEN, then one LIST chunk per table
    assert on_the_day.stats.data_calls == 7 + 6
    assert next_day.an8s == {1013} and next_day.changed_by_table[EFFECTIVE_DATE_KEY] == {1013}
    assert week.an8s == {1005, 1012, 1013, 1029, 1030}
    assert week.changed_by_table[EFFECTIVE_DATE_KEY] == {1012, 1013}
    assert week.watermark == Watermark(NOV[25], 101500)


def test_the_history_window_reads_no_effective_dates(jde_emulator: Any) -> None:
    upsert(jde_emulator.url, "F0116", [future_address(1002, dt.date(2025, 1, 5), "2 Future Street")])
    with make_client(jde_emulator.url) as client:
        through = extract_through(client, dt.date(2025, 1, 31))
    assert through.an8s == {1001, 1002, 1003, 1004}
    assert EFFECTIVE_DATE_KEY not in through.changed_by_table
    assert through.stats.data_calls == 6  # all history: each table read once, no LIST pass
    assert sorted(through.frames["F0116"]["AN8"]) == [1001, 1001, 1002, 1002, 1003, 1004]


def test_the_history_read_spreads_tables_over_sessions_and_logs_each_out(jde_emulator: Any) -> None:
    """Three AIS sessions read the six tables at once (in AN8 slices, test_slices.py): the same frames as
    one session, each session its own token, every call counted on the caller's stats, and no session
    left open."""
    with make_client(jde_emulator.url, page_size=7) as client:
        alone = extract_through(client, dt.date(2026, 1, 1))
    with make_client(jde_emulator.url, page_size=7, read_sessions=3) as client:
        shared = extract_through(client, dt.date(2026, 1, 1))
        assert client.stats.tokens == 3
    assert shared.an8s == alone.an8s and shared.watermark == alone.watermark
    for name, frame in alone.frames.items():
        pd.testing.assert_frame_equal(shared.frames[name], frame, obj=name)
    assert shared.stats.rows == alone.stats.rows + 2  # + the lowest and highest AN8 of F0101
    assert shared.stats.logouts == 2  # the two extra sessions; the caller's own logs out with its block
    stats = requests.get(f"{jde_emulator.url}/_emulator/stats", timeout=5).json()
    assert stats["tokens_active"] == 0


def test_a_failing_session_stops_the_history_read_and_leaves_no_session_open(jde_emulator: Any) -> None:
    faults = f"{jde_emulator.url}/_emulator/faults"
    with make_client(jde_emulator.url, page_size=7, read_sessions=2) as client:
        requests.post(faults, json={"fault_rate": 1.0, "fault_kinds": ["error"]}, timeout=5)
        with pytest.raises(AisError):
            extract_through(client, dt.date(2026, 1, 1))
        requests.post(faults, json={"fault_rate": 0.0}, timeout=5)
    stats = requests.get(f"{jde_emulator.url}/_emulator/stats", timeout=5).json()
    assert stats["tokens_active"] == 0  # no session left behind by the failed read


@pytest.mark.parametrize("day", [dt.date(2025, 1, 31), dt.date(2025, 11, 25), None])
def test_the_one_pass_history_read_equals_the_two_pass_read(jde_emulator: Any, day: dt.date | None) -> None:
    """All history read once and windowed locally gives the frames, parties and watermark of reading the
    changed AN8s first and then their rows by AN8 LIST (the path every window with a start takes)."""
    window = Window() if day is None else Window.through(day)
    with make_client(jde_emulator.url) as client:
        one_pass = extract_window(client, window)
        by_table, watermark = changed_an8s(client, window)
        two_pass = read_parties(client, frozenset().union(*by_table.values()))
    assert one_pass.changed_by_table == by_table
    assert one_pass.watermark == watermark
    for name, frame in two_pass.items():
        pd.testing.assert_frame_equal(one_pass.frames[name], frame, check_like=True)


def test_a_change_posted_now_is_extracted(jde_emulator: Any) -> None:
    phone = {"WPAN8": 1012, "WPIDLN": 0, "WPRCK7": 2, "WPCNLN": 2, "WPPHTP": "HOM", "WPAR1": "720"}
    upsert(jde_emulator.url, "F0115", [{**phone, "WPPH1": "555-0199"}])
    with make_client(jde_emulator.url) as client:
        result = extract_since(client, Watermark(dt.date(2025, 11, 27), 115959))
    assert result.an8s == {1012}
    assert result.watermark == Watermark(dt.date(2025, 11, 27), 120000)
    assert sorted(result.frames["F0115"]["PH1"]) == ["555-0112", "555-0199"]


def test_list_chunking_calls_grow_with_chunks(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, page_size=100) as client:
        since_2000 = Watermark(dt.date(2000, 1, 1))  # a window with a start: stamps first, then LIST
        result = extract_since(client, since_2000, Watermark(dt.date(2026, 1, 1), 235959), chunk_size=7)
        full = {name: client.browse(name) for name in TABLES}
    assert result.an8s == set(range(1001, 1031))
    # 6 window queries (one page each) + the EFTB read + 6 tables x ceil(30 / 7) LIST chunks
    assert result.stats.data_calls == 6 + 1 + 6 * 5 and result.stats.pages == 37 and result.stats.tokens == 0
    for name in TABLES:
        pd.testing.assert_frame_equal(result.frames[name], full[name], obj=name)


def test_paged_extraction_under_faults_matches_a_clean_one(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, page_size=3) as client:
        clean = extract_through(client, dt.date(2026, 1, 1), chunk_size=4)
    requests.post(f"{jde_emulator.url}/_emulator/faults", json={"fault_rate": 0.25}, timeout=5)
    with make_client(jde_emulator.url, page_size=3) as client:
        faulty = extract_through(client, dt.date(2026, 1, 1), chunk_size=4)
    requests.post(f"{jde_emulator.url}/_emulator/faults", json={"fault_rate": 0}, timeout=5)
    assert faulty.stats.retries + faulty.stats.restarts + faulty.stats.reauths > 0
    assert faulty.an8s == clean.an8s
    for name in TABLES:
        pd.testing.assert_frame_equal(faulty.frames[name], clean.frames[name], obj=name)


def test_token_expiring_in_the_middle_of_an_extraction(jde_emulator_factory: Any, jde_dataset: Any) -> None:
    """The TTL (60 s idle) passes while the extraction runs: the clock jumps after the 8th page served."""
    clock = ManualClock(dt.datetime(2025, 11, 27, 12))
    server = jde_emulator_factory(clock=clock, token_ttl=60, latency_ms=5)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    with make_client(server.url, page_size=3) as client:
        clean = extract_through(client, dt.date(2026, 1, 1), chunk_size=4)
    pages_before = pages_served(server.url)

    def expire_after_eight_pages() -> None:
        while pages_served(server.url) < pages_before + 8:
            time.sleep(0.002)
        clock.advance(61)

    jump = threading.Thread(target=expire_after_eight_pages, daemon=True)
    jump.start()
    with make_client(server.url, page_size=3) as client:
        expired = extract_through(client, dt.date(2026, 1, 1), chunk_size=4)
    jump.join(timeout=5)
    assert expired.stats.reauths >= 1 and client.stats.tokens >= 2
    assert expired.stats.pages > 8 + 6  # the jump happened well before the end
    assert expired.an8s == clean.an8s
    for name in TABLES:
        pd.testing.assert_frame_equal(expired.frames[name], clean.frames[name], obj=name)


def pages_served(url: str) -> int:
    return requests.get(f"{url}/_emulator/stats", timeout=5).json()["pages_served"]


def test_probe_without_changes_costs_one_call_per_table(jde_emulator: Any) -> None:
    before = data_requests(jde_emulator.url)
    with make_client(jde_emulator.url) as client:
        probe = probe_changes(client, Watermark(NOV[25], 101500))
    assert not probe.changed and probe.dates == ()
    assert probe.watermark == Watermark(NOV[25], 101500)
    assert probe.stats.data_calls == 6 and client.stats.tokens == 1
    assert data_requests(jde_emulator.url) - before == 6


def test_probe_finds_a_change_and_moves_the_watermark(jde_emulator: Any) -> None:
    jde_emulator.clock.advance(3600)  # 2025-11-27 13:00:00
    upsert(jde_emulator.url, "F0111", [{"WWAN8": 1012, "WWIDLN": 1, "WWMLNM": "New Contact"}])
    with make_client(jde_emulator.url) as client:
        probe = probe_changes(client, Watermark(NOV[25], 101500))
    assert probe.dates == (NOV[27],)
    assert probe.watermark == Watermark(NOV[27], 130000)
    assert probe.stats.data_calls == 6


def test_probe_scans_many_days_in_small_pages(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        probe = probe_changes(client, Watermark(dt.date(2025, 9, 1)), page_size=2)
        floored = probe_changes(
            client, Watermark(dt.date(2025, 9, 1)), page_size=2, floor=dt.date(2025, 9, 20)
        )
    september = [dt.date(2025, 9, 8), dt.date(2025, 9, 18), dt.date(2025, 9, 28)]
    assert probe.dates == (*september, NOV[20], NOV[25])
    assert probe.watermark == Watermark(NOV[25], 101500)
    assert floored.dates == (dt.date(2025, 9, 20), dt.date(2025, 9, 28), NOV[20], NOV[25])
    assert probe.stats.data_calls > 6  # more than a page of changes: a few more calls, no full read


def test_extraction_from_a_csv_export(jde_emulator_factory: Any, tmp_path: Path) -> None:
    new_year_eve, march_first = date_to_julian(dt.date(2024, 12, 31)), date_to_julian(dt.date(2025, 3, 1))
    (tmp_path / "F0101.csv").write_text(
        "ABAN8,ABALPH,ABAT1,ABUPMJ,ABUPMT,ABEFTB,ABXYZ\n"
        f"2001,Acme Corp   ,C,{new_year_eve},93000,0,ignored\n"
        f"2002,Zeta Ltd,V,{march_first},507,{date_to_julian(dt.date(2000, 2, 29))},\n",
        encoding="utf-8",
    )
    (tmp_path / "F01151.csv").write_text(
        f"EAAN8,EAIDLN,EARCK7,EAETP,EAEMAL,EAUPMJ,EAUPMT\n2001,0,1,E,ap@acme.example,{march_first},235959\n",
        encoding="utf-8",
    )
    server = jde_emulator_factory(data_dir=str(tmp_path))
    with make_client(server.url) as client:
        result = extract_days(client, dt.date(2025, 3, 1))
        history = extract_through(client, dt.date(2024, 12, 31))
    assert result.an8s == {2001, 2002}
    f0101 = result.frames["F0101"].set_index("AN8")
    assert f0101.loc[2001, "ALPH"] == "Acme Corp"
    assert f0101.loc[2001, "updated_at"] == pd.Timestamp("2024-12-31 09:30:00", tz="UTC")
    assert f0101.loc[2002, "EFTB"] == pd.Timestamp("2000-02-29") and f0101.loc[2002, "UPMT"] == 507
    assert result.frames["F01151"]["EMAL"].tolist() == ["ap@acme.example"]
    assert result.watermark == Watermark(dt.date(2025, 3, 1), 235959)
    assert history.an8s == {2001}


def test_a_stamp_from_the_future_does_not_push_the_watermark_ahead(jde_emulator: Any) -> None:
    future = date_to_julian(dt.date(2025, 12, 24))
    upsert(jde_emulator.url, "F0111", [{"WWAN8": 1020, "WWIDLN": 3, "WWUPMJ": future, "WWUPMT": 80000}])
    now = dt.datetime(2025, 11, 27, 12, 0, 5, tzinfo=dt.UTC)
    with make_client(jde_emulator.url) as client:
        probe = probe_changes(client, Watermark(NOV[25], 101500), now=now)
        again = probe_changes(client, probe.watermark, now=now)
    assert probe.dates == (dt.date(2025, 12, 24),)
    assert probe.watermark == Watermark(NOV[27], 120005)  # capped at now, not 2025-12-24 08:00
    assert again.dates == (dt.date(2025, 12, 24),)  # reported again until its time has come


@pytest.mark.parametrize("pattern", ["dd/MM/yyyy", "yyyyMMdd", "dd.MM.yy"])
def test_date_literals_follow_the_users_date_format(
    jde_emulator_factory: Any, jde_dataset: Any, pattern: str
) -> None:
    server = jde_emulator_factory(simple_date_format=pattern)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    upsert(server.url, "F0116", [future_address(1012, NOV[21], "12 Future Street")])
    with make_client(server.url) as client:
        result = extract_days(client, NOV[20], NOV[21])
        probe = probe_changes(client, Watermark(NOV[20], 93000))
        assert client.date_pattern == pattern
    assert result.an8s == {1012, 1029, 1030}  # 1012: the EFTB condition is written in the user's format too
    assert probe.dates == (NOV[20], NOV[25])

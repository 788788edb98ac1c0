"""The date and time conversions, checked against the worked examples of docs/ais.md ("The six tables")."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from jde_mc_pipeline.jde import dates

WORKED_EXAMPLES = [
    (dt.date(1999, 12, 31), 99365),
    (dt.date(2000, 1, 1), 100001),
    (dt.date(2000, 2, 29), 100060),
    (dt.date(2001, 6, 19), 101170),
    (dt.date(2004, 6, 1), 104153),
    (dt.date(2005, 6, 1), 105152),
    (dt.date(2023, 12, 31), 123365),
    (dt.date(2024, 1, 1), 124001),
    (dt.date(2024, 2, 29), 124060),
    (dt.date(2024, 12, 31), 124366),
    (dt.date(2025, 3, 1), 125060),
    (dt.date(2025, 11, 27), 125331),
]


@pytest.mark.parametrize(("day", "julian"), WORKED_EXAMPLES)
def test_julian_worked_examples_both_ways(day: dt.date, julian: int) -> None:
    assert dates.date_to_julian(day) == julian
    assert dates.julian_to_date(julian) == day
    assert dates.julian_to_date(str(julian)) == day


def test_julian_series_matches_the_worked_examples_and_blanks_are_nat() -> None:
    values = pd.Series([j for _, j in WORKED_EXAMPLES] + [0, None, np.nan, "  "], dtype=object)
    converted = dates.julian_to_datetime64(values)
    assert converted.dtype == "datetime64[ns]"
    assert [d.date() for d in converted.iloc[:12]] == [d for d, _ in WORKED_EXAMPLES]
    assert converted.iloc[12:].isna().all()
    back = dates.datetime64_to_julian(converted)
    assert list(back) == [j for _, j in WORKED_EXAMPLES] + [0, 0, 0, 0]


def test_julian_series_on_numeric_dtype() -> None:
    converted = dates.julian_to_datetime64(pd.Series([124366, 0, 100060], dtype="Int64"))
    assert list(converted.dt.strftime("%Y-%m-%d").fillna("")) == ["2024-12-31", "", "2000-02-29"]


@pytest.mark.parametrize("bad", [123366, 124367, 124000, 1243.5, "abc", -5])
def test_invalid_julian_raises_naming_the_value(bad: object) -> None:
    with pytest.raises(ValueError, match="Julian"):
        dates.julian_to_date(bad)  # type: ignore[arg-type]


def test_blank_julian_is_none() -> None:
    assert dates.julian_to_date(0) is None
    assert dates.julian_to_date(None) is None
    assert dates.julian_to_date("") is None


def test_yyyymmdd_both_ways_and_blank_forms() -> None:
    assert dates.yyyymmdd_to_date("20250115") == dt.date(2025, 1, 15)
    assert dates.yyyymmdd_to_date(20240229) == dt.date(2024, 2, 29)
    assert dates.date_to_yyyymmdd(dt.date(2000, 2, 29)) == "20000229"
    for blank in (None, "", "0", " ", "00000000"):
        assert dates.yyyymmdd_to_date(blank) is None


@pytest.mark.parametrize("bad", ["20250230", "2025011", "2025-01-15", "abcdefgh", "202501150"])
def test_invalid_yyyymmdd_raises(bad: str) -> None:
    with pytest.raises(ValueError, match="yyyyMMdd"):
        dates.yyyymmdd_to_date(bad)


def test_yyyymmdd_series_keeps_index_and_dtype() -> None:
    series = pd.Series(["20241231", None, "", "19991231"], index=[10, 11, 12, 13], dtype=object)
    converted = dates.yyyymmdd_to_datetime64(series)
    assert converted.dtype == "datetime64[ns]"
    assert list(converted.index) == [10, 11, 12, 13]
    assert converted[10] == pd.Timestamp("2024-12-31")
    assert converted[11] is pd.NaT and converted[12] is pd.NaT


@pytest.mark.parametrize(
    ("number", "time"),
    [(93000, dt.time(9, 30)), (507, dt.time(0, 5, 7)), (235959, dt.time(23, 59, 59)), (0, dt.time(0))],
)
def test_hhmmss_examples(number: int, time: dt.time) -> None:
    assert dates.hhmmss_to_time(number) == time
    assert dates.time_to_hhmmss(time) == number


@pytest.mark.parametrize("bad", [240000, 96000, 93060, -1, 1234.5])
def test_invalid_hhmmss_raises(bad: float) -> None:
    with pytest.raises(ValueError, match="HHMMSS"):
        dates.hhmmss_to_time(bad)  # type: ignore[arg-type]


def test_updated_at_in_utc_and_chicago() -> None:
    utc = dates.updated_at(dt.date(2025, 1, 15), 93000, "UTC")
    assert utc == pd.Timestamp("2025-01-15 09:30:00", tz="UTC")
    chicago = dates.updated_at(dt.date(2025, 7, 1), 507, "America/Chicago")
    assert str(chicago.tz) == "America/Chicago"
    assert chicago.tz_convert("UTC") == pd.Timestamp("2025-07-01 05:05:07", tz="UTC")  # CDT = UTC-5
    assert dates.updated_at(None, 93000, "UTC") is pd.NaT


def test_updated_at_across_dst_changes_keeps_order() -> None:
    days = pd.Series(pd.to_datetime(["2025-11-02", "2025-11-02", "2025-03-09", "2025-03-09"]))
    times = pd.Series([13000, 15959, 15959, 23000])  # 01:30 twice (fall back); 02:30 does not exist
    moments = dates.updated_at_series(days, times, "America/Chicago").dt.tz_convert("UTC")
    assert moments[0] == pd.Timestamp("2025-11-02 06:30", tz="UTC")  # the earlier (CDT) 01:30
    assert moments[0] < moments[1]
    assert moments[2] < moments[3]
    assert moments[3] == pd.Timestamp("2025-03-09 08:00", tz="UTC")  # shifted to 03:00 CDT


def test_updated_at_series_blank_day_is_nat_and_missing_time_is_midnight() -> None:
    days = dates.yyyymmdd_to_datetime64(["20250115", None])
    moments = dates.updated_at_series(days, pd.Series([None, 93000], dtype=object), "UTC")
    assert str(moments.dtype) == "datetime64[ns, UTC]"
    assert moments[0] == pd.Timestamp("2025-01-15", tz="UTC")
    assert moments[1] is pd.NaT


def test_unknown_time_zone_fails_clearly() -> None:
    with pytest.raises(Exception, match="Mars"):
        dates.updated_at(dt.date(2025, 1, 1), 0, "Mars/Olympus")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("MM/dd/yyyy", "03/01/2025"),
        ("dd/MM/yyyy", "01/03/2025"),
        ("yyyyMMdd", "20250301"),
        ("yyyy-MM-dd", "2025-03-01"),
        ("d.M.yy", "1.3.25"),
        ("dd-MMM-yyyy", "01-Mar-2025"),
        ("dd 'de' MMMM yyyy", "01 de March 2025"),
        ("yy''MM", "25'03"),
    ],
)
def test_date_literal_in_user_format(pattern: str, expected: str) -> None:
    assert dates.format_date_literal(dt.date(2025, 3, 1), pattern) == expected


def test_date_literal_rejects_time_letters() -> None:
    with pytest.raises(ValueError, match="'H'"):
        dates.format_date_literal(dt.date(2025, 3, 1), "yyyyMMdd HH")


@pytest.mark.parametrize(
    ("code", "separator", "pattern"),
    [
        ("MDE", "/", "MM/dd/yyyy"),
        ("DME", ".", "dd.MM.yyyy"),
        ("EMD", "-", "yyyy-MM-dd"),
        ("MDE", "", "MMddyyyy"),
    ],
)
def test_simple_date_format_from_jde_codes(code: str, separator: str, pattern: str) -> None:
    assert dates.simple_date_format_from_jde(code, separator) == pattern


def test_unknown_jde_date_format_code() -> None:
    with pytest.raises(ValueError, match="XYZ"):
        dates.simple_date_format_from_jde("XYZ")


def test_a_million_julian_dates_convert_vectorised() -> None:
    julian = pd.Series(np.tile(np.array([j for _, j in WORKED_EXAMPLES] + [0]), 80_000))
    converted = dates.julian_to_datetime64(julian)
    assert len(converted) == 1_040_000
    assert converted.iloc[-1] is pd.NaT
    assert converted.iloc[12 * 13 + 9] == pd.Timestamp("2024-12-31")

"""Every date and time conversion between JD Edwards, AIS and Python happens here (docs/ais.md,
The six tables), so that the three formats never get mixed up elsewhere:

- the database holds dates as Julian CYYDDD numbers (`(year - 1900) * 1000 + day of year`, 0 = blank)
  and times as HHMMSS numbers with the leading zeros lost (09:30:00 is 93000);
- AIS answers carry dates as `yyyyMMdd` strings (a blank date as null, "" or a missing key: all three
  are accepted, the form is unconfirmed);
- AIS query conditions take date literals in the token user's `simpleDateFormat`, a Java pattern such as
  `MM/dd/yyyy`.

The Series functions are vectorised (numpy and pandas' C parsers, no Python loop per row) because a full
extraction converts millions of values. They are strict: a value that is neither blank nor a valid date or
time raises ValueError naming it, because a wrong date would silently move a party to another partition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

_BLANK_STRINGS = frozenset({"", "0", "00000000"})


def _fail(what: str, values: Iterable[object]) -> ValueError:
    examples = ", ".join(repr(v) for v in list(values)[:5])
    return ValueError(f"invalid {what}: {examples}")


# --- Julian CYYDDD ------------------------------------------------------------------------------------


def julian_to_date(value: int | str | None) -> dt.date | None:
    """The date of a Julian CYYDDD number (`124366` is 2024-12-31); 0, blank or None give None."""
    result = julian_to_datetime64(pd.Series([value], dtype=object)).iloc[0]
    return None if pd.isna(result) else result.date()


def date_to_julian(value: dt.date) -> int:
    """The Julian CYYDDD number of a date (2000-02-29 is 100060)."""
    if not 1900 <= value.year <= 2899:
        raise ValueError(f"year {value.year} cannot be written as a JDE Julian date (1900-2899)")
    return (value.year - 1900) * 1000 + value.timetuple().tm_yday


def julian_to_datetime64(values: pd.Series | Iterable[object]) -> pd.Series:
    """Julian CYYDDD numbers (ints, floats, numeric strings, None) as naive `datetime64[ns]` at midnight.

    0, None, NaN and blank strings become NaT; anything else that is not a valid CYYDDD raises ValueError.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    numeric = series
    if series.dtype == object:
        text = series.where(series.notna(), "").astype(str).str.strip()
        numeric = text.where(text != "", None)
    try:
        numbers = pd.to_numeric(numeric, errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid Julian CYYDDD dates: {exc}") from None
    blank = np.isnan(numbers) | (numbers == 0)
    filled = np.where(blank, 0, numbers)
    julian = filled.astype(np.int64)
    year = 1900 + julian // 1000
    day = julian % 1000
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid = blank | ((julian == filled) & (julian > 0) & (day >= 1) & (day <= 365 + leap) & (year < 2900))
    if not valid.all():
        raise _fail("Julian CYYDDD dates", series[~valid])
    year = np.where(blank, 1970, year)
    day = np.where(blank, 1, day)
    days = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")
    result = days.astype("datetime64[ns]")
    result[blank] = np.datetime64("NaT")
    return pd.Series(result, index=series.index, dtype="datetime64[ns]")


def datetime64_to_julian(values: pd.Series) -> pd.Series:
    """Dates (`datetime64`) as Julian CYYDDD numbers (`Int64`); NaT becomes 0, JDE's blank date."""
    dates = pd.to_datetime(values)
    julian = (dates.dt.year - 1900) * 1000 + dates.dt.dayofyear
    return julian.fillna(0).astype("Int64")


# --- yyyyMMdd strings (AIS answers) ------------------------------------------------------------------


def yyyymmdd_to_date(value: str | int | None) -> dt.date | None:
    """The date of an AIS `yyyyMMdd` string (`"20250115"`); None, "" and "0" give None."""
    result = yyyymmdd_to_datetime64(pd.Series([value], dtype=object)).iloc[0]
    return None if pd.isna(result) else result.date()


def date_to_yyyymmdd(value: dt.date) -> str:
    """The `yyyyMMdd` form of a date, as AIS writes dates in its answers."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def yyyymmdd_to_datetime64(values: pd.Series | Iterable[object]) -> pd.Series:
    """AIS `yyyyMMdd` dates (strings or numbers, None for blank) as naive `datetime64[ns]`; blank → NaT."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    text = series.astype(object).where(series.notna(), "").astype(str).str.strip()
    blank = text.isin(_BLANK_STRINGS).to_numpy()
    parsed = pd.to_datetime(text.where(~blank, None), format="%Y%m%d", errors="coerce")
    bad = parsed.isna().to_numpy() & ~blank | ~(text.str.len().eq(8).to_numpy() | blank)
    if bad.any():
        raise _fail("yyyyMMdd dates", series[bad])
    return pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=series.index, dtype="datetime64[ns]")


# --- HHMMSS times ------------------------------------------------------------------------------------


def hhmmss_to_time(value: int) -> dt.time:
    """The time of an HHMMSS number: 93000 is 09:30:00, 507 is 00:05:07."""
    seconds = int(hhmmss_to_seconds(pd.Series([value])).iloc[0])
    return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def time_to_hhmmss(value: dt.time) -> int:
    """The HHMMSS number of a time (00:05:07 is 507); microseconds are dropped, as JDE keeps seconds."""
    return value.hour * 10000 + value.minute * 100 + value.second


def hhmmss_to_seconds(values: pd.Series) -> pd.Series:
    """HHMMSS numbers as seconds since midnight (`int64`); a missing time counts as 0 (midnight)."""
    try:
        numbers = pd.to_numeric(values, errors="raise").to_numpy(dtype="float64", na_value=0.0)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"invalid HHMMSS times: {exc}") from None
    whole = numbers.astype(np.int64)
    hours, minutes, seconds = whole // 10000, whole // 100 % 100, whole % 100
    valid = (whole == numbers) & (whole >= 0) & (hours < 24) & (minutes < 60) & (seconds < 60)
    if not valid.all():
        raise _fail("HHMMSS times", values[~valid])
    return pd.Series(hours * 3600 + minutes * 60 + seconds, index=values.index, dtype="int64")


# --- UPMJ + UPMT → the moment of the change -----------------------------------------------------------


def updated_at(day: dt.date | None, hhmmss: int, timezone: str) -> pd.Timestamp:
    """The tz-aware moment of a JDE change: UPMJ `day` at UPMT `hhmmss` local time in `timezone`.

    NaT when the day is blank. Same rules as `updated_at_series`, of which it is the one-value form.
    """
    days = pd.Series([pd.NaT if day is None else pd.Timestamp(day)], dtype="datetime64[ns]")
    return updated_at_series(days, pd.Series([hhmmss]), timezone).iloc[0]


def updated_at_series(days: pd.Series, hhmmss: pd.Series, timezone: str) -> pd.Series:
    """UPMJ dates (`datetime64[ns]`) plus UPMT HHMMSS numbers as `datetime64[ns, timezone]`.

    JDE writes UPMJ/UPMT in the local time of the machine that made the change, so the
    values are localised in `timezone` (an IANA name). Across a DST change a wall time can happen twice
    (the earlier, summer-time moment is taken) or not at all (shifted forward to the first valid moment);
    both keep the order of changes. NaT where the day is blank.
    """
    zone = ZoneInfo(timezone)  # fails early and clearly on an unknown zone name
    naive = pd.to_datetime(days).reset_index(drop=True) + pd.to_timedelta(
        hhmmss_to_seconds(hhmmss.reset_index(drop=True)), unit="s"
    )
    localised = naive.dt.tz_localize(
        zone.key, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    localised.index = days.index
    return localised


# --- date literals for query conditions ---------------------------------------------------------------

_PATTERN_TOKEN = re.compile(r"'[^']*'|([A-Za-z])\1*|[^A-Za-z']+")
_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


def format_date_literal(value: dt.date, pattern: str) -> str:
    """The date written with a Java `SimpleDateFormat` pattern, as AIS expects condition literals.

    Supports the date letters a JDE user format can hold: `y` (`yy` two digits, otherwise four), `M`
    (`M`, `MM`, `MMM`, `MMMM`), `d` (`d`, `dd`), quoted text (`'T'`, `''` for a quote) and any
    punctuation. Other letters (times, week days, eras) raise ValueError: no JDE date format uses them,
    and guessing would send a literal AIS reads as another date.
    """
    parts: list[str] = []
    for match in _PATTERN_TOKEN.finditer(pattern):
        token = match.group(0)
        letter, width = token[0], len(token)
        if token.startswith("'"):
            parts.append("'" if token == "''" else token[1:-1])
        elif not letter.isalpha():
            parts.append(token)
        elif letter == "y":
            parts.append(f"{value.year % 100:02d}" if width == 2 else f"{value.year:0{max(width, 4)}d}")
        elif letter == "M":
            name = _MONTHS[value.month - 1]
            parts.append(name if width >= 4 else name[:3] if width == 3 else f"{value.month:0{width}d}")
        elif letter == "d":
            parts.append(f"{value.day:0{width}d}")
        else:
            raise ValueError(f"unsupported letter {letter!r} in date format {pattern!r}")
    return "".join(parts)


def simple_date_format_from_jde(date_format: str, separator: str = "/") -> str:
    """A Java pattern from JDE's `dateFormat` code (`MDE` → `MM/dd/yyyy`, `DME`, `EMD`, …).

    For token responses without `simpleDateFormat`: JDE codes name the order of month (M), day (D) and
    four-digit year (E), joined by the user's `dateSeperator`.
    """
    letters = {"M": "MM", "D": "dd", "E": "yyyy"}
    code = date_format.strip().upper()
    if sorted(code) != ["D", "E", "M"]:
        raise ValueError(f"unknown JDE date format {date_format!r} (expected an order of M, D and E)")
    return separator.strip().join(letters[c] for c in code)

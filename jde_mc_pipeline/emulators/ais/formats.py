"""Date and time formats as the AIS *server* handles them.

Written independently of the client's `jde_mc_pipeline.jde.dates` on purpose (an emulator and the
client of the same API do not import each other: jde_mc_pipeline/emulators/__init__.py), so that a
conversion bug on one side shows up as a test failure instead of being mirrored on the other.

- The database holds Julian CYYDDD numbers (0 = blank) and HHMMSS times.
- AIS answers dates as `yyyyMMdd` strings, and parses date literals in query conditions with the
  token user's `simpleDateFormat` (a Java SimpleDateFormat pattern such as `MM/dd/yyyy`).
"""

from __future__ import annotations

import re
from datetime import date, datetime

_JAVA_TOKENS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MMM": "%b",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}
_JAVA_TOKEN_RE = re.compile("|".join(sorted(_JAVA_TOKENS, key=len, reverse=True)))


def to_julian(day: date) -> int:
    """CYYDDD: (year - 1900) * 1000 + day of year. 2024-12-31 -> 124366."""
    return (day.year - 1900) * 1000 + day.timetuple().tm_yday


def from_julian(julian: int) -> date | None:
    """The calendar date of a CYYDDD number; None for 0 (JDE's blank date)."""
    if julian == 0:
        return None
    year, day_of_year = 1900 + julian // 1000, julian % 1000
    if not 1 <= day_of_year <= (366 if _is_leap(year) else 365):
        raise ValueError(f"{julian} is not a Julian CYYDDD date")
    return date.fromordinal(date(year, 1, 1).toordinal() + day_of_year - 1)


def to_hhmmss(moment: datetime) -> int:
    """HHMMSS as JDE stores it: 09:30:00 -> 93000."""
    return moment.hour * 10000 + moment.minute * 100 + moment.second


def java_to_strftime(pattern: str) -> str:
    """Translate a Java SimpleDateFormat pattern (`MM/dd/yyyy`) to a strftime one (`%m/%d/%Y`)."""
    return _JAVA_TOKEN_RE.sub(lambda m: _JAVA_TOKENS[m.group(0)], pattern)


def parse_date_literal(text: str, simple_date_format: str) -> date:
    """Parse a condition's date literal the way AIS does: with the user's date format, strictly.

    Design decision (docs/ais.md, The data service; UNCONFIRMED): the user's `simpleDateFormat` is the
    only accepted form. A literal in another format is refused rather than guessed, because a real AIS
    whose user has a different format would misread it; a lenient emulator would hide that bug.
    """
    return datetime.strptime(text.strip(), java_to_strftime(simple_date_format)).date()


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)

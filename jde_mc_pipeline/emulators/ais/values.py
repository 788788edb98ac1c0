"""How one column value is stored (database form) and how AIS answers it (GRID_DATA form).

The store keeps what a database export holds: padded CHAR strings (kept with trailing blanks removed,
since CHAR comparison ignores them), NUMBERs, Julian CYYDDD dates (0 = blank) and HHMMSS times. Every
value entering the store passes `to_db`, so a bad value is refused with a reason instead of breaking a
query later.

Answer formats (docs/ais.md, The data service):
- strings: trailing blanks trimmed, leading blanks kept (a right-justified MCU stays `"          30"`);
- numbers: JSON numbers (an integral value as an int);
- dates: `yyyyMMdd` strings. Design decision for the [UNCONFIRMED] blank date: a Julian 0 is answered
  as JSON `null` (the key is present), which the client must accept alongside `""` and a missing key;
- times: HHMMSS numbers (09:30:00 is `93000`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jde_mc_pipeline.emulators.ais.formats import from_julian
from jde_mc_pipeline.jde.tables import Column


def to_db(column: Column, value: Any) -> Any:
    """The database form of `value` for `column`; ValueError says what is wrong with it.

    Text (as a CSV holds it) and JSON values are both accepted for numbers, dates and times.
    """
    if column.kind == "string":
        return _string(column, value)
    if column.kind == "number":
        return _number(value)
    if column.kind == "date":
        julian = _integer(value, "a Julian CYYDDD date")
        if julian < 0:
            raise ValueError(f"{value!r} is not a Julian CYYDDD date")
        from_julian(julian)  # raises for a day of year out of range
        return julian
    moment = _integer(value, "an HHMMSS time")
    if not (0 <= moment <= 235959 and moment // 100 % 100 < 60 and moment % 100 < 60):
        raise ValueError(f"{value!r} is not an HHMMSS time")
    return moment


def converter(column: Column) -> Callable[[Any], Any]:
    """`to_db` for one column, with fast paths for values already in database form.

    Loading 100,000 demo parties converts about ten million values, so the common cases (an int for
    a number, a valid Julian int, a short enough string) skip the generic checks. Short codes and
    date/time numbers come back interned: many rows share them, and a shared object costs nothing.
    """
    if column.kind == "string":
        length = column.length or sys.maxsize

        def string(value: Any) -> Any:
            if type(value) is str:
                text = value.rstrip()
                if len(text) <= length:
                    return sys.intern(text) if len(text) <= _SHORT_TEXT else text
            return to_db(column, value)

        return string
    if column.kind == "number":
        return lambda value: value if type(value) is int else to_db(column, value)
    if column.kind == "date":
        return lambda value: (
            _intern(value) if type(value) is int and _valid_julian(value) else to_db(column, value)
        )
    return lambda value: (
        _intern(value) if type(value) is int and _valid_time(value) else _intern(to_db(column, value))
    )


def default(column: Column) -> Any:
    """The value of a column nobody filled: blank for strings, 0 otherwise (JDE's blank date is 0)."""
    return "" if column.kind == "string" else 0


@lru_cache(maxsize=65536)
def yyyymmdd(julian: int) -> str | None:
    """`yyyyMMdd` for a Julian date, None for the blank date 0."""
    day = from_julian(julian)
    return None if day is None else day.strftime("%Y%m%d")


def _string(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    text = value.rstrip()
    if column.length and len(text) > column.length:
        raise ValueError(f"{len(text)} characters, more than the column's {column.length}")
    return text


def _number(value: Any) -> int | float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
        return int(number) if number.is_integer() else number
    raise ValueError(f"expected a number, got {value!r}")


def _integer(value: Any, what: str) -> int:
    number = _number(value) if not isinstance(value, float) or value.is_integer() else value
    if not isinstance(number, int):
        raise ValueError(f"{value!r} is not {what}")
    return number


_SHORT_TEXT = 8
_interned_numbers: dict[int, int] = {}


def _intern(number: int) -> int:
    return _interned_numbers.setdefault(number, number)


@lru_cache(maxsize=200_000)
def _valid_julian(julian: int) -> bool:
    try:
        to_db(Column("J", "date", "J"), julian)
    except ValueError:
        return False
    return True


def _valid_time(moment: int) -> bool:
    return 0 <= moment <= 235959 and moment // 100 % 100 < 60 and moment % 100 < 60

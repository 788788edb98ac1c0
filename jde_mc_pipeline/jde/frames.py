"""AIS GRID_DATA rowsets → the typed frames of the frames contract (jde/frames.py).

Rows arrive as dicts keyed `F0101_AN8` (docs/ais.md). `FrameBuilder` keeps them column by
column as plain lists while pages arrive (the row dicts of a page can then be freed: a dict per row costs
several times the values it holds) and types every column once, vectorised, when the frame is built. Text
is stripped as each page arrives, one object per distinct text: the JSON decoder makes a new object per
cell, and a slice's cells were held as those until the build (16 MB more at the peak of reading 100,000
parties with 4 sessions).

Types, per catalogue kind (jde_mc_pipeline/jde/tables.py):
- string → object dtype of `str`, stripped; null, missing → "" (AIS keeps leading blanks, e.g. in MCU);
- number → `Int64`;
- date → naive `datetime64[ns]`; null, "", missing, 0 → NaT (the blank form is unconfirmed);
- time (UPMT) → `Int64` HHMMSS, missing → 0;
- plus `updated_at` (`datetime64[ns, tz]`, UPMJ + UPMT in JDE's time zone) whenever UPMJ is a column.
Keys the catalogue does not know are ignored: AIS may send more than asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from jde_mc_pipeline.jde.dates import updated_at_series, yyyymmdd_to_datetime64
from jde_mc_pipeline.jde.tables import Column, Table

UPDATED_AT = "updated_at"


class FrameBuilder:
    """Collects the rows of one table page by page and builds one typed frame at the end."""

    def __init__(self, table: Table, aliases: Sequence[str] | None = None) -> None:
        self.table = table
        self.columns: tuple[Column, ...] = tuple(
            table.column(a) for a in (table.read_aliases() if aliases is None else aliases)
        )
        self._keys = [table.output_key(c.alias) for c in self.columns]
        self._values: list[list[Any]] = [[] for _ in self.columns]
        self._texts: list[dict[str, str] | None] = [{} if c.kind == "string" else None for c in self.columns]
        """Per text column, each distinct text once (`_stripped`); None for the other kinds."""

    def __len__(self) -> int:
        return len(self._values[0]) if self._values else 0

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append rows of a GRID_DATA rowset."""
        rows = list(rows)
        for key, values, texts in zip(self._keys, self._values, self._texts, strict=True):
            raw = [row.get(key) for row in rows]
            values.extend(raw if texts is None else _stripped(raw, texts))

    def build(self, timezone: str) -> pd.DataFrame:
        """The typed frame; the collected lists are released."""
        data: dict[str, pd.Series] = {}
        for index, (column, values) in enumerate(zip(self.columns, self._values, strict=True)):
            try:
                data[column.alias] = _typed(column, values)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"{self.table.name}.{column.alias}: {exc}{self._rows_of(column, values)}"
                ) from None
            if column.alias not in self.table.key:  # the keys name the rows of a later failure
                self._values[index] = []  # the raw column goes as soon as its typed one exists
        self._values = [[] for _ in self.columns]
        self._texts = [None if texts is None else {} for texts in self._texts]
        frame = pd.DataFrame(data)
        if "UPMJ" in frame.columns:
            upmt = frame["UPMT"] if "UPMT" in frame.columns else pd.Series(0, index=frame.index)
            frame[UPDATED_AT] = updated_at_series(frame["UPMJ"], upmt, timezone)
        return frame

    def _rows_of(self, column: Column, values: list[Any]) -> str:
        """` (rows AN8=… IDLN=…)`: the keys of the first rows whose value cannot be typed, so that a user
        can find them in JDE (the message alone names a value that may occur on any row). Runs only after
        a failure: each distinct value is typed on its own."""
        keys = [(alias, self._values[i]) for i, c in enumerate(self.columns) for alias in self.table.key
                if c.alias == alias]  # fmt: skip
        verdicts: dict[Any, bool] = {}
        bad: list[str] = []
        for index, value in enumerate(values):
            try:
                ok = verdicts[value]
            except KeyError:
                ok = verdicts[value] = _typeable(column, value)
            except TypeError:  # an unhashable value (a list or an object from a broken answer)
                ok = False
            if not ok:
                bad.append(" ".join(f"{alias}={raw[index]!r}" for alias, raw in keys) or f"#{index + 1}")
                if len(bad) == _NAMED_ROWS:
                    break
        return f" (row {'; row '.join(bad)})" if bad else ""


_NAMED_ROWS = 5


def _typeable(column: Column, value: Any) -> bool:
    try:
        _typed(column, [value])
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def empty_frame(table: Table, timezone: str) -> pd.DataFrame:
    """A frame with no rows and the contract columns and dtypes (no on-demand column: jde/tables.py)."""
    return FrameBuilder(table).build(timezone)


def _typed(column: Column, values: list[Any]) -> pd.Series:
    """The typed column of these values; text already stripped by `FrameBuilder.add`."""
    if column.kind == "string":
        return pd.Series(values, dtype=object)
    raw = pd.Series(values, dtype=object)
    if column.kind == "date":
        return yyyymmdd_to_datetime64(raw)
    numbers = pd.to_numeric(raw, errors="raise")
    if column.kind == "time":
        numbers = numbers.fillna(0)
    return numbers.astype("Int64")


def _stripped(values: list[Any], once: dict[str, str]) -> list[str]:
    """Every value as stripped text, null → "". A plain comprehension: pandas' `.str.strip()` with its
    null handling took twice as long, and the initial load strips millions of cells; and one object per
    distinct text (kept in `once` from page to page), as the JSON decoder makes a new one per cell: codes
    and countries repeat on most rows."""
    try:
        return ["" if value is None else once.setdefault(text := value.strip(), text) for value in values]
    except AttributeError:  # a number or another non-text value in a loose answer
        return ["" if _null(value) else once.setdefault(text := str(value).strip(), text) for value in values]


def _null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)

"""The emulator's tables in memory, in database form (`ABAN8`, `ABUPMJ`, …), upserted by primary key.

Why a dict per table keyed by the primary key plus an AN8 index, and not a DataFrame: the client reads
"all rows of these 500 AN8s" from every table (LIST on AN8), thousands of times in a 100,000-party
extraction; the index turns each into a few dictionary look-ups, while upserts (control endpoint,
churn) stay O(1). Full scans (UPMJ windows) walk a cached key order.

Rows are never mutated in place: an upsert stores a new dict. A query therefore holds a consistent
snapshot of the rows it matched (a paged result set keeps serving the rows as they were at query time,
as a JAS result set does), and readers need the lock only to take that snapshot.

Stamping: like a JDE program, an upsert writes UPMJ (Julian date) and UPMT (HHMMSS) from the clock,
each unless the row gives it. Upserting an existing key merges the given columns into the stored row
(a partial update); a new key starts from blank/0 for the columns not given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from jde_mc_pipeline.jde.emulator.formats import to_hhmmss, to_julian
from jde_mc_pipeline.jde.emulator.values import default, to_db
from jde_mc_pipeline.jde.tables import TABLES, Table, table


class RowError(ValueError):
    """A row that cannot be stored; the message names the table, the row and the column."""


class _TableData:
    def __init__(self, spec: Table) -> None:
        self.spec = spec
        self.columns = {spec.db_name(c.alias): c for c in spec.columns}
        self.key_columns = tuple(spec.db_name(alias) for alias in spec.key)
        self.an8 = spec.db_name("AN8")
        self.rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.by_an8: dict[Any, set[tuple[Any, ...]]] = {}
        self._order: list[tuple[Any, ...]] | None = None

    def key(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in self.key_columns)

    def put(self, row: dict[str, Any]) -> bool:
        """Store a complete row; True when its key is new."""
        key = self.key(row)
        new = key not in self.rows
        self.rows[key] = row
        if new:
            self.by_an8.setdefault(row[self.an8], set()).add(key)
            self._order = None
        return new

    def order(self) -> list[tuple[Any, ...]]:
        if self._order is None:
            self._order = sorted(self.rows)
        return self._order


class Store:
    """The six tables, thread-safe. `clock` gives JDE-local now for UPMJ/UPMT stamping."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._tables = {name: _TableData(spec) for name, spec in TABLES.items()}

    def upsert(
        self,
        table_name: str,
        rows: Iterable[dict[str, Any]],
        *,
        stamp: bool = True,
        strict: bool = True,
        checked: bool = False,
    ) -> dict[str, int]:
        """Upsert rows given with database column names; all or nothing.

        `stamp` writes UPMJ/UPMT from the clock where a row does not give them; `strict` refuses
        columns the catalogue does not know. `checked` skips validation for rows already in database
        form (the CSV loader's output). Returns `{"inserted": n, "updated": m}`; RowError names the
        first bad row and column.
        """
        data = self._data(table_name)
        if checked:
            given = list(rows)
        else:
            given = [self._normalise(data, index, row, strict) for index, row in enumerate(rows, start=1)]
        now = self._clock()
        stamps = {data.spec.db_name("UPMJ"): to_julian(now.date()), data.spec.db_name("UPMT"): to_hhmmss(now)}
        inserted = updated = 0
        with self._lock:
            for values in given:
                key = data.key(values)
                base = data.rows.get(key)
                if base is None:
                    base = {name: default(column) for name, column in data.columns.items()}
                row = {**base, **values}
                if stamp:
                    row.update({name: value for name, value in stamps.items() if name not in values})
                if data.put(row):
                    inserted += 1
                else:
                    updated += 1
        return {"inserted": inserted, "updated": updated}

    def scan(self, table_name: str) -> list[dict[str, Any]]:
        """Every row, in primary-key order."""
        data = self._data(table_name)
        with self._lock:
            rows = data.rows
            return [rows[key] for key in data.order()]

    def for_an8s(self, table_name: str, an8s: Iterable[Any]) -> list[dict[str, Any]]:
        """The rows of these address numbers, in primary-key order (an index look-up, not a scan)."""
        data = self._data(table_name)
        with self._lock:
            keys = [key for an8 in set(an8s) for key in data.by_an8.get(an8, ())]
            rows = data.rows
            return [rows[key] for key in sorted(keys)]

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """All rows by table (the churn generator picks from these)."""
        return {name: self.scan(name) for name in self._tables}

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._lock:
            return {name: len(data.rows) for name, data in self._tables.items()}

    def _data(self, table_name: str) -> _TableData:
        return self._tables[table(table_name).name]

    @staticmethod
    def _normalise(data: _TableData, index: int, row: Any, strict: bool) -> dict[str, Any]:
        name = data.spec.name
        if not isinstance(row, dict):
            raise RowError(f"{name} row {index}: expected an object of database columns, got {row!r}")
        values: dict[str, Any] = {}
        for raw_name, raw_value in row.items():
            column_name = str(raw_name).strip().upper()
            column = data.columns.get(column_name)
            if column is None:
                if strict:
                    known = ", ".join(data.columns)
                    raise RowError(f"{name} row {index}: unknown column {raw_name!r} (known: {known})")
                continue
            try:
                values[column_name] = to_db(column, raw_value)
            except ValueError as error:
                raise RowError(f"{name} row {index}, column {column_name}: {error}") from None
        missing = [key for key in data.key_columns if key not in values]
        if missing:
            raise RowError(f"{name} row {index}: missing key column(s) {', '.join(missing)}")
        return values

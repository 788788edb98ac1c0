"""The emulator's tables in memory, in database form (`ABAN8`, `ABUPMJ`, …), upserted by primary key.

Why a dict per table keyed by the primary key plus an AN8 index, and not a DataFrame: the client reads
"all rows of these 500 AN8s" from every table (LIST on AN8), thousands of times in a 100,000-party
extraction; the index turns each into a few dictionary look-ups, while upserts (control endpoint,
churn) stay O(1). Full scans (UPMJ windows) walk a cached key order.

A row is a tuple of values in catalogue column order (`Table.aliases`), not a dict: 600,000 rows as
dicts cost about three times the memory. Short codes and date/time numbers are interned for the same
reason (values.converter). `position(spec, alias)` gives a column's index; `as_dicts` turns rows back
into database form.

Rows are never mutated in place: an upsert stores a new tuple and a delete only drops the table's
reference to one. A query therefore holds a consistent snapshot of the rows it matched (a paged result
set keeps serving the rows as they were at query time, deleted ones included, as a JAS result set does),
and readers need the lock only to take that snapshot.

Stamping: like a JDE program, an upsert writes UPMJ (Julian date) and UPMT (HHMMSS) from the clock,
each unless the row gives it. Upserting an existing key merges the given columns into the stored row
(a partial update); a new key starts from blank/0 for the columns not given.

Deleting by primary key leaves no trace, as a row deleted in JDE leaves none (no tombstone, no stamp on
the rows that remain): the row leaves the table, the AN8 index and the cached key order, so scans, LIST
reads and UPMJ windows all stop seeing it. A key that matches nothing is a no-op, only counted.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from jde_mc_pipeline.emulators.ais.formats import to_hhmmss, to_julian
from jde_mc_pipeline.emulators.ais.values import converter, default
from jde_mc_pipeline.jde.tables import SERVED, Table, table


class RowError(ValueError):
    """A row that cannot be stored; the message names the table, the row and the column."""


Row = tuple[Any, ...]


def position(spec: Table, alias: str) -> int:
    """Index of a column in a stored row."""
    return spec.aliases.index(alias)


class _TableData:
    def __init__(self, spec: Table) -> None:
        self.spec = spec
        self.names = tuple(spec.db_name(alias) for alias in spec.aliases)
        self.columns = {spec.db_name(c.alias): (i, converter(c)) for i, c in enumerate(spec.columns)}
        self.key_positions = tuple(position(spec, alias) for alias in spec.key)
        self.an8 = position(spec, "AN8") if "AN8" in spec.aliases else None  # F0005 has none
        self.upmj, self.upmt = position(spec, "UPMJ"), position(spec, "UPMT")
        self.defaults = tuple(default(c) for c in spec.columns)
        self.rows: dict[Row, Row] = {}
        self.by_an8: dict[Any, set[Row]] = {}
        self._order: list[Row] | None = None

    def put(self, row: Row) -> bool:
        """Store a complete row; True when its key is new."""
        key = tuple(row[i] for i in self.key_positions)
        new = key not in self.rows
        self.rows[key] = row
        if new:
            if self.an8 is not None:
                self.by_an8.setdefault(row[self.an8], set()).add(key)
            self._order = None
        return new

    def remove(self, key: Row) -> bool:
        """Forget the row with this key everywhere it is indexed; False when there is none."""
        row = self.rows.pop(key, None)
        if row is None:
            return False
        an8 = None if self.an8 is None else row[self.an8]
        same_an8 = self.by_an8.get(an8)
        if same_an8 is not None:
            same_an8.discard(key)
            if not same_an8:  # an AN8 with no rows left must not linger as an empty entry
                del self.by_an8[an8]
        self._order = None  # re-sorted on the next scan, as after an insert
        return True

    def order(self) -> list[Row]:
        if self._order is None:
            self._order = sorted(self.rows)
        return self._order


def _first(key: Row) -> Any:
    return key[0]


class Store:
    """The six tables of the parties and the UDC table F0005, thread-safe. `clock` gives JDE-local now
    for UPMJ/UPMT stamping."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._lock = threading.RLock()
        self._tables = {name: _TableData(spec) for name, spec in SERVED.items()}

    def upsert(
        self, table_name: str, rows: Iterable[dict[str, Any]], *, stamp: bool = True, strict: bool = True
    ) -> dict[str, int]:
        """Upsert rows given with database column names; all or nothing.

        `stamp` writes UPMJ/UPMT from the clock where a row does not give them; `strict` refuses
        columns the catalogue does not know. Returns `{"inserted": n, "updated": m}`; RowError
        names the first bad row and column.
        """
        data = self._data(table_name)
        given = [self._normalise(data, index, row, strict) for index, row in enumerate(rows, start=1)]
        now = self._clock()
        stamps = {data.upmj: to_julian(now.date()), data.upmt: to_hhmmss(now)}
        inserted = updated = 0
        with self._lock:
            for values in given:
                key = tuple(values[i] for i in data.key_positions)
                row = list(data.rows.get(key) or data.defaults)
                for i, value in values.items():
                    row[i] = value
                if stamp:
                    for i, value in stamps.items():
                        if i not in values:
                            row[i] = value
                if data.put(tuple(row)):
                    inserted += 1
                else:
                    updated += 1
        return {"inserted": inserted, "updated": updated}

    def delete(self, table_name: str, keys: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Delete rows by primary key given with database column names; all or nothing.

        Every key is checked before anything is deleted, so a bad one (RowError naming the row and
        column) leaves the table as it was. A key object holds exactly the key columns: a column outside
        the key is refused rather than ignored, as it would read like a filter that is not applied. A key
        matching no row (or one already deleted earlier in the same list) is counted as not found, as
        deleting a missing row is a no-op in JDE. Returns `{"deleted": n, "not_found": m}`.
        """
        data = self._data(table_name)
        wanted = [self._key(data, index, key) for index, key in enumerate(keys, start=1)]
        deleted = not_found = 0
        with self._lock:
            for key in wanted:
                if data.remove(key):
                    deleted += 1
                else:
                    not_found += 1
        return {"deleted": deleted, "not_found": not_found}

    def scan(self, table_name: str) -> list[Row]:
        """Every row, in primary-key order."""
        data = self._data(table_name)
        with self._lock:
            rows = data.rows
            return [rows[key] for key in data.order()]

    def an8_range(self, table_name: str, low: Any, high: Any) -> list[Row]:
        """The rows with `low <= AN8 <= high` (None: open), in primary-key order: a range of the sorted
        keys, whose first column is AN8 in every table but F0005 (an index range scan, not a table scan)."""
        data = self._data(table_name)
        if data.an8 != data.key_positions[0]:
            raise ValueError(f"{table_name}: AN8 is not the first key column")
        with self._lock:
            rows, order = data.rows, data.order()
            start = 0 if low is None else bisect_left(order, low, key=_first)
            end = len(order) if high is None else bisect_right(order, high, key=_first)
            return [rows[key] for key in order[start:end]]

    def for_an8s(self, table_name: str, an8s: Iterable[Any]) -> list[Row]:
        """The rows of these address numbers, in primary-key order (an index look-up, not a scan)."""
        data = self._data(table_name)
        with self._lock:
            keys = [key for an8 in set(an8s) for key in data.by_an8.get(an8, ())]
            rows = data.rows
            return [rows[key] for key in sorted(keys)]

    def as_dicts(self, table_name: str, rows: Iterable[Row]) -> list[dict[str, Any]]:
        """Rows in database form (`{"ABAN8": 4242, ...}`)."""
        names = self._data(table_name).names
        return [dict(zip(names, row, strict=True)) for row in rows]

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """All rows by table in database form (the churn generator picks from these)."""
        return {name: self.as_dicts(name, self.scan(name)) for name in self._tables}

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._lock:
            return {name: len(data.rows) for name, data in self._tables.items()}

    def _data(self, table_name: str) -> _TableData:
        return self._tables[table(table_name).name]

    @staticmethod
    def _normalise(data: _TableData, index: int, row: Any, strict: bool) -> dict[int, Any]:
        name = data.spec.name
        if not isinstance(row, dict):
            raise RowError(f"{name} row {index}: expected an object of database columns, got {row!r}")
        values: dict[int, Any] = {}
        columns = data.columns
        for raw_name, raw_value in row.items():
            found = columns.get(raw_name)  # the usual case: an exact database column name
            column_name = raw_name
            if found is None:
                column_name = str(raw_name).strip().upper()
                found = columns.get(column_name)
            if found is None:
                if strict:
                    known = ", ".join(data.columns)
                    raise RowError(f"{name} row {index}: unknown column {raw_name!r} (known: {known})")
                continue
            at, convert = found
            try:
                values[at] = convert(raw_value)
            except ValueError as error:
                raise RowError(f"{name} row {index}, column {column_name}: {error}") from None
        missing = [data.names[i] for i in data.key_positions if i not in values]
        if missing:
            raise RowError(f"{name} row {index}: missing key column(s) {', '.join(missing)}")
        return values

    @staticmethod
    def _key(data: _TableData, index: int, key: Any) -> Row:
        """The stored form of one primary key, converted like an upserted row so that it compares equal."""
        name = data.spec.name
        key_names = ", ".join(data.names[i] for i in data.key_positions)
        if not isinstance(key, dict):
            raise RowError(
                f"{name} row {index}: expected an object of key columns ({key_names}), got {key!r}"
            )
        values: dict[int, Any] = {}
        for raw_name, raw_value in key.items():
            column_name = str(raw_name).strip().upper()
            found = data.columns.get(raw_name) or data.columns.get(column_name)
            if found is None:
                raise RowError(f"{name} row {index}: unknown column {raw_name!r} (key columns: {key_names})")
            at, convert = found
            if at not in data.key_positions:
                raise RowError(
                    f"{name} row {index}: column {column_name} is not a key column (key columns: {key_names})"
                )
            try:
                values[at] = convert(raw_value)
            except ValueError as error:
                raise RowError(f"{name} row {index}, column {column_name}: {error}") from None
        missing = [data.names[i] for i in data.key_positions if i not in values]
        if missing:
            raise RowError(f"{name} row {index}: missing key column(s) {', '.join(missing)}")
        return tuple(values[i] for i in data.key_positions)

"""Loads a JDE database export: `<TABLE>.csv` per table, database column names, Julian dates.

Rules (`jde-mc emulate jde --data DIR`, docs/emulators.md):
- A file per table (`F0101.csv`, `F03012.csv`, `F0116.csv`, `F01151.csv`, `F0115.csv`, `F0111.csv`);
  a missing file is an empty table. The file name's case does not matter.
- Header names are database columns (`ABAN8`, `ALADD1`, …) in any case; columns the catalogue does not
  know are ignored (real exports have hundreds), catalogue columns missing from the file are blank/0.
- Values: numbers as text, dates as Julian CYYDDD (blank or 0 = no date), times as HHMMSS; strings as
  exported (trailing CHAR padding removed). UTF-8, with or without a byte-order mark.
- A malformed value, a row missing a key column or a duplicate primary key stops the load with
  `CsvLoadError` naming the file, the line and the column: silently skipping rows would make a user's
  dry run lie about their data.
- Rows are loaded as exported: UPMJ/UPMT are not re-stamped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from jde_mc_pipeline.emulators.ais.values import default, to_db
from jde_mc_pipeline.jde.tables import SERVED, Table


class CsvLoadError(ValueError):
    """A CSV export that cannot be loaded; the message names file, line and column."""


def read_export(directory: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Rows by table name, in database form, from the `<TABLE>.csv` files of `directory`."""
    folder = Path(directory)
    if not folder.is_dir():
        raise CsvLoadError(f"{folder} is not a folder of <TABLE>.csv files")
    files = {path.stem.upper(): path for path in folder.iterdir() if path.suffix.lower() == ".csv"}
    return {name: read_table(files[name], spec) if name in files else [] for name, spec in SERVED.items()}


def read_table(path: Path, spec: Table) -> list[dict[str, Any]]:
    """The rows of one table's export."""
    columns = {spec.db_name(column.alias): column for column in spec.columns}
    key_columns = [spec.db_name(alias) for alias in spec.key]
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[Any, ...], int] = {}
    reader = csv.reader(io.StringIO(_decoded(path), newline=""))
    header = next(reader, None)
    if header is None:
        return rows
    names = [name.strip().upper() for name in header]
    missing = [key for key in key_columns if key not in names]
    if missing:
        raise CsvLoadError(f"{path}: header lacks key column(s) {', '.join(missing)}")
    used = [(index, name, columns[name]) for index, name in enumerate(names) if name in columns]
    for values in reader:
        line = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(names):
            raise CsvLoadError(f"{path}, line {line}: {len(values)} fields, the header has {len(names)}")
        row = {name: default(column) for name, column in columns.items()}
        for index, name, column in used:
            try:
                row[name] = to_db(column, values[index])
            except ValueError as error:
                raise CsvLoadError(f"{path}, line {line}, column {name}: {error}") from None
        key = tuple(row[name] for name in key_columns)
        if key in seen:
            raise CsvLoadError(f"{path}, line {line}: primary key {key} already on line {seen[key]}")
        seen[key] = line
        rows.append(row)
    return rows


def _decoded(path: Path) -> str:
    """The file's text; bytes that are not UTF-8 stop the load naming the line and column they are in."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", "replace")]), [])
        before = data[line_start : error.start].decode("utf-8", "replace")
        index = len(next(csv.reader([before]), [""])) - 1 if before else 0
        name = header[index].strip().upper() if index < len(header) else f"#{index + 1}"
        raise CsvLoadError(
            f"{path}, line {line}, column {name}: byte 0x{data[error.start]:02x} is not UTF-8"
        ) from None

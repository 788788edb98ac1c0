"""Frames into PostgreSQL by COPY, and `?` placeholders into psycopg's.

Why COPY of CSV text written by DuckDB: the initial load writes over a million pulled rows and as many
mapped values at 100,000 parties; an INSERT per row is a round trip each, psycopg's `write_row` a Python
call per row, and pandas' `to_json`/`to_csv` cost three times what the whole DuckDB store takes for the
same rows (measured: benchmarks/audit_backends.py). DuckDB, already the default backend, reads a frame in
place and writes its CSV (and each pulled row's JSON, with the very `to_json` of the DuckDB store, so
both backends keep the same text) with all cores into a temporary file, which is streamed to COPY in
blocks: the memory stays at one block, however large the load. NULL is COPY's CSV default, the unquoted
empty field; DuckDB quotes empty strings, which stay empty strings.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg

BLOCK_BYTES = 1 << 20
RENDER_MEMORY_LIMIT = "256MB"
"""DuckDB's memory while it writes the CSV (its default is 80% of RAM): rows in any order stream through."""
_LITERAL_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?|%")


def copy_frame(
    conn: psycopg.Connection,
    table: str,
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    select: str = "*",
    params: Sequence[Any] = (),
) -> int:
    """COPY the rows of `SELECT {select} FROM frame` (DuckDB SQL, `?` for `params`) into `table`'s
    `columns` (default: the frame's own, all of them); returns the rows written."""
    if frame.empty:
        return 0
    with copying(conn, table, list(columns or frame.columns)) as write:
        write(frame, select, params)
    return len(frame)


Writer = Callable[[pd.DataFrame, str, Sequence[Any]], None]


@contextmanager
def copying(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> Iterator[Writer]:
    """One COPY into `table`'s `columns`, fed by a writer of frames: `write(frame, select, params)` sends
    the rows of `SELECT {select} FROM frame`, rendered as CSV by DuckDB (module doc)."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    with (
        tempfile.TemporaryDirectory(prefix="jde-mc-copy-") as folder,
        conn.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        rows_file = Path(folder) / "rows.csv"
        duck = duckdb.connect(config={"memory_limit": RENDER_MEMORY_LIMIT, "preserve_insertion_order": False})

        def write(frame: pd.DataFrame, select: str = "*", params: Sequence[Any] = ()) -> None:
            if frame.empty:
                return
            duck.register("frame", frame)
            try:
                duck.execute(
                    f"COPY (SELECT {select} FROM frame) TO '{rows_file}' (FORMAT csv, HEADER false)",
                    list(params),
                )
            finally:
                duck.unregister("frame")
            with rows_file.open("rb") as rows:
                while block := rows.read(BLOCK_BYTES):
                    copy.write(block)

        try:
            yield write
        finally:
            duck.close()


def placeholders(sql: str) -> str:
    """`sql` with DuckDB's `?` placeholders as psycopg's `%s`, and `%` (as in `LIKE 'x%'`) escaped;
    marks inside string literals (`split_part(path, '?', 1)`) are left alone, except `%`, which psycopg
    reads everywhere."""

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return text.replace("%", "%%")

    return _LITERAL_OR_MARK.sub(swap, sql)

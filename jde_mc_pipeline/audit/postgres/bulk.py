"""Frames into PostgreSQL by COPY, and `?` placeholders into psycopg's.

Why COPY of CSV text made by pandas: the initial load writes 1.3M pulled rows and about as many mapped
values; an INSERT per row is a round trip each, and psycopg's `write_row` is a Python call per row.
`DataFrame.to_csv` writes a chunk's text in one call and COPY parses it server-side; chunks bound the
memory to one chunk's text. NULL is written as `\\N` (COPY's CSV default is the empty field, which would
turn every empty string into NULL): a value that is literally `\\N` would be read back as NULL, a price
worth paying for text never seen in JDE or Mailchimp data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pandas as pd
import psycopg

COPY_CHUNK_ROWS = 50_000
NULL_TEXT = "\\N"
_LITERAL_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?|%")


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> int:
    """COPY `frame` (its column names are the table's) into `table`; returns the rows written."""
    if frame.empty:
        return 0
    with conn.cursor() as cursor, cursor.copy(copy_statement(table, frame.columns)) as copy:
        for chunk in csv_chunks(frame):
            copy.write(chunk)
    return len(frame)


def copy_statement(table: str, columns: pd.Index | list[str]) -> str:
    return f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '{NULL_TEXT}')"


def csv_chunks(frame: pd.DataFrame, rows: int = COPY_CHUNK_ROWS) -> Iterator[str]:
    """The frame as COPY's CSV text, `rows` at a time."""
    for start in range(0, len(frame), rows):
        yield frame.iloc[start : start + rows].to_csv(header=False, index=False, na_rep=NULL_TEXT)


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

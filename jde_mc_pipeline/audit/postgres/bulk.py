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

import itertools
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg

BLOCK_BYTES = 1 << 20
SLICE_ROWS = 100_000
RENDERED_AHEAD = 2
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
    the rows of `SELECT {select} FROM frame`, rendered as CSV by DuckDB (module doc).

    Frames are rendered `SLICE_ROWS` at a time by a thread while the slice before is streamed: DuckDB
    renders while the server parses, instead of each waiting for the other (both release the GIL).
    """
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    with (
        tempfile.TemporaryDirectory(prefix="jde-mc-copy-") as folder,
        conn.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        renderer = _Renderer(Path(folder))
        try:

            def write(frame: pd.DataFrame, select: str = "*", params: Sequence[Any] = ()) -> None:
                for start in range(0, len(frame), SLICE_ROWS):
                    while renderer.pending >= RENDERED_AHEAD:
                        _stream(renderer.oldest(), copy)
                    renderer.submit(frame.iloc[start : start + SLICE_ROWS], select, params)

            yield write
            while renderer.pending:
                _stream(renderer.oldest(), copy)
        finally:
            renderer.close()


class _Renderer:
    """Renders slices of frames into CSV files of `folder`, one at a time, in a thread of its own (the
    DuckDB connection is used by that thread only)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._files = itertools.count()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="audit-copy")
        self._duck = duckdb.connect(
            config={"memory_limit": RENDER_MEMORY_LIMIT, "preserve_insertion_order": False}
        )
        self._queue: deque[Future[Path]] = deque()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, frame: pd.DataFrame, select: str, params: Sequence[Any]) -> None:
        path = self._folder / f"{next(self._files)}.csv"
        self._queue.append(self._pool.submit(self._render, frame, select, list(params), path))

    def oldest(self) -> Path:
        return self._queue.popleft().result()

    def _render(self, frame: pd.DataFrame, select: str, params: list[Any], path: Path) -> Path:
        self._duck.register("frame", frame)
        try:
            self._duck.execute(
                f"COPY (SELECT {select} FROM frame) TO '{path}' (FORMAT csv, HEADER false)", params
            )
        finally:
            self._duck.unregister("frame")
        return path

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._duck.close()


def _stream(path: Path, copy: psycopg.Copy) -> None:
    with path.open("rb") as rows:
        while block := rows.read(BLOCK_BYTES):
            copy.write(block)
    path.unlink()


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

"""Progress of the `jde-mc` commands: a bar on a terminal (tqdm), nothing when the output is piped.

Why tqdm: a well-kept bar that measures rates and hides itself when its output is not a terminal, so a
log or a test capturing the output gets only the lines the command prints.
"""

from __future__ import annotations

from typing import TextIO

from tqdm import tqdm


class Progress:
    """Rows read so far, per table; `with Progress("reading JDE", out) as p: client.on_page = p.pages`."""

    def __init__(self, what: str, out: TextIO) -> None:
        self._bar = tqdm(desc=what, unit=" rows", file=out, disable=None, leave=False, dynamic_ncols=True)

    def pages(self, table: str, rows: int) -> None:
        self._bar.set_postfix_str(table, refresh=False)
        self._bar.update(rows)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

"""Progress of a long step in its run's log: a line every few seconds while the stage runs.

Why a heartbeat and not a log per page or per chunk: a 100,000-party run reads ~2,000 AIS pages and sends
~200 Mailchimp chunks; a line for each buries the log, and one line at the end leaves the operator blind
for minutes. Every `every` seconds, `describe()` says how far the stage is (rows read, stages mapped,
requests sent) with its rate; nothing is logged for a stage that ends sooner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

import dagster as dg

EVERY_SECONDS = 10.0


class Heartbeat:
    """`with Heartbeat(context.log, lambda seconds: f"{n / seconds:,.0f}/s"):` logs while the block runs."""

    def __init__(
        self, log: dg.DagsterLogManager, describe: Callable[[float], str], every: float = EVERY_SECONDS
    ) -> None:
        self._log, self._describe, self._every = log, describe, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)
        self._began = 0.0

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            self._log.info(self._describe(max(time.perf_counter() - self._began, 1e-3)))

    def __enter__(self) -> Heartbeat:
        self._began = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

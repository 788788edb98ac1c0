"""How long the process spent waiting on AIS or on Mailchimp: the wall time during which at least one call
to the service (or a pause for one of its batches) was under way.

Why the union of intervals and not a sum of call times: calls overlap (AIS sessions read at once, eight
Mailchimp connections), so summed call times exceed the wall time. A step's own time is then its wall
time minus the time it waited, which is what the connector can still shorten (benchmarks/end_to_end.py).

Why one clock per service for the whole process: the clients of one step (an AIS client and its sibling
sessions, the Mailchimp client and its batch pollers) wait in several threads, and the steps of a run
execute one after another in a process, so a step measures its waits as the difference of `seconds`
before and after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class WaitClock:
    """Wall seconds with at least one wait in progress (thread-safe)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._waiting = 0
        self._since = 0.0
        self._total = 0.0

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Time spent inside counts as waiting on the service (once, however many threads wait)."""
        with self._lock:
            if self._waiting == 0:
                self._since = time.perf_counter()
            self._waiting += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1
                if self._waiting == 0:
                    self._total += time.perf_counter() - self._since

    @property
    def seconds(self) -> float:
        """Waited so far, including a wait still in progress."""
        with self._lock:
            running = time.perf_counter() - self._since if self._waiting else 0.0
            return self._total + running


AIS_WAIT = WaitClock("AIS")
MAILCHIMP_WAIT = WaitClock("Mailchimp")

"""The emulator's notion of JDE-local now, replaceable so tests control UPMJ/UPMT stamps and expiry.

JDE writes UPMJ/UPMT in the local time of the machine running the program (docs/ais.md, The six
tables), so the default clock is the host's local wall clock as a naive datetime.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


def local_now() -> datetime:
    """The host's local time, naive, to the second (UPMT has second resolution)."""
    return datetime.now().replace(microsecond=0)


class ManualClock:
    """A clock that moves only when told to: `clock()` is now, `advance(seconds)` moves it on."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds` and return the new now."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to `moment`."""
        with self._lock:
            self._now = moment

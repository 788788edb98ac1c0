"""The process-wide cap on simultaneous connections to Mailchimp.

Mailchimp refuses the 11th simultaneous connection of an account with a 429. Every thread and every
`MailchimpClient` of the process that uses the same API key therefore shares one `ConnectionCap`, taken
around each HTTP attempt (never while backing off), so that no code path, however many executors it
starts, can exceed the limit.

The cap also adapts: another program of the same account may hold some of the ten slots, so each 429
(but the one refusing a batch while 500 are pending: client.py) lowers the number of slots this process
uses by one (never below one), and a run of successes gives one back, up to the configured limit
(additive decrease/increase keeps it simple and stable).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from jde_mc_pipeline.mailchimp.errors import MailchimpConfigError

log = logging.getLogger(__name__)

MAILCHIMP_CONNECTION_LIMIT = 10
DEFAULT_CONNECTION_CAP = 8


def checked_cap(value: int) -> int:
    """A usable cap: above Mailchimp's limit of 10 is clamped with a warning, below 1 is refused."""
    value = int(value)
    if value < 1:
        raise MailchimpConfigError(f"max_connections must be at least 1, got {value}")
    if value > MAILCHIMP_CONNECTION_LIMIT:
        log.warning(
            "max_connections=%d exceeds Mailchimp's limit of %d simultaneous connections; using %d",
            value,
            MAILCHIMP_CONNECTION_LIMIT,
            MAILCHIMP_CONNECTION_LIMIT,
        )
        return MAILCHIMP_CONNECTION_LIMIT
    return value


class ConnectionCap:
    """A counting semaphore whose size can change while threads wait on it."""

    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._limit = checked_cap(limit)
        self._effective = self._limit
        self._in_use = 0
        self._successes = 0
        self.peak = 0
        self.throttled = 0

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def effective(self) -> int:
        """Slots this process currently allows itself (≤ limit; lowered by 429s)."""
        return self._effective

    def set_limit(self, limit: int) -> None:
        """Change the configured limit (the latest client configuration wins)."""
        with self._cond:
            self._limit = checked_cap(limit)
            self._effective = self._limit
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one connection slot for the duration of one HTTP exchange."""
        with self._cond:
            while self._in_use >= self._effective:
                self._cond.wait()
            self._in_use += 1
            self.peak = max(self.peak, self._in_use)
        try:
            yield
        finally:
            with self._cond:
                self._in_use -= 1
                self._cond.notify()

    def record_throttled(self) -> None:
        """A 429 came back: use one slot fewer from now on."""
        with self._cond:
            self.throttled += 1
            self._successes = 0
            self._effective = max(1, self._effective - 1)

    def record_success(self) -> None:
        """An answer that was not a 429: after `effective` of them in a row, allow one slot more."""
        with self._cond:
            if self._effective >= self._limit:
                return
            self._successes += 1
            if self._successes >= self._effective:
                self._successes = 0
                self._effective += 1
                self._cond.notify()


_caps: dict[str, ConnectionCap] = {}
_caps_lock = threading.Lock()


def connection_cap_for(api_key: str, limit: int = DEFAULT_CONNECTION_CAP) -> ConnectionCap:
    """The one cap of this process for `api_key` (identified by a digest, never stored in clear)."""
    ident = hashlib.sha256(api_key.encode("utf-8")).hexdigest()
    with _caps_lock:
        cap = _caps.get(ident)
        if cap is None:
            cap = _caps[ident] = ConnectionCap(limit)
        elif cap.limit != checked_cap(limit):
            cap.set_limit(limit)
        return cap

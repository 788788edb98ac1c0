"""The 10-simultaneous-connections limit and fault injection (docs/mailchimp.md, Limits and retries).

Mailchimp counts simultaneous connections per user; what a client controls is how many requests it has
in flight, so the emulator counts API requests in flight per API key, across all server threads. The
count includes the latency sleep (a slow answer holds its slot, as on the real service) and the
request being refused: `max_concurrent` therefore shows the most simultaneous requests a client ever
had open, which is what a client's own cap must keep at or below the limit. Control endpoints and the
batch archive download are not API calls and are not counted.

Faults, drawn with probability `fault_rate` from `kinds`:
- `500` / `503`: a problem document, nothing executed;
- `reset`: the TCP connection is reset before anything is executed;
- `reset_after`: the request is executed, then the connection is reset (the client cannot know whether
  its write happened; opt-in, not in the default kinds);
- `slow`: the answer is delayed by `slow_ms` before it is produced normally (to outlast a client's
  timeout; the server still executes it, as Mailchimp does for timed-out calls);
- `html_429` / `html_503` / `html_403` / `bare_403`: the gateway in front of Mailchimp answers with its
  own HTML page or an empty body instead of a problem document, nothing executed (gateway.py; opt-in,
  not in the default kinds, so the default mix stays the one earlier runs were measured with).
`endpoints` (default: every one) limits faults to some endpoints, named as the stats name them
(`POST /lists/{list_id}`): a partial outage, such as batch subscribe failing while the e-commerce
endpoints answer, which is what a sync must survive without writing customers before their members.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from jde_mc_pipeline.emulators.controls import Faults, RequestStats
from jde_mc_pipeline.emulators.mailchimp.gateway import GATEWAY_KINDS

FAULT_KINDS = ("500", "503", "reset", "reset_after", "slow", *GATEWAY_KINDS)
DEFAULT_FAULT_KINDS = ("500", "503", "reset", "slow")
DEFAULT_SLOW_MS = 2000.0


class ConnectionLimiter:
    """Requests in flight per API key; the caller answers 429 when `enter` says the limit is passed."""

    def __init__(self, max_connections: int, stats: RequestStats) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self._stats = stats
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()

    def enter(self, key: str) -> bool:
        """Count one more request in flight for `key`; False when that passes the limit.

        `leave` must be called afterwards in both cases.
        """
        with self._lock:
            self._in_flight[key] += 1
            current = self._in_flight[key]
        self._stats.observe_max("max_concurrent", current)
        return current <= self.max_connections

    def leave(self, key: str) -> None:
        with self._lock:
            self._in_flight[key] -= 1

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._in_flight.values())


class FaultPlan:
    """`Faults` plus the Mailchimp emulator's own settings (`kinds`, `slow_ms`), checked before use."""

    def __init__(
        self,
        fault_rate: float,
        latency_ms: float,
        seed: int | None,
        kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS,
        slow_ms: float = DEFAULT_SLOW_MS,
    ) -> None:
        self.faults = Faults(fault_rate=fault_rate, latency_ms=latency_ms, seed=seed)
        self.update({"kinds": list(kinds), "slow_ms": slow_ms, "endpoints": []})

    def update(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Apply `POST /_emulator/faults`; raises ValueError (nothing applied) on an unknown key or value."""
        unknown = set(settings) - {"fault_rate", "latency_ms", "kinds", "slow_ms", "endpoints"}
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
        checked = dict(settings)
        if "kinds" in checked:
            kinds = checked["kinds"]
            if not isinstance(kinds, list) or not kinds or any(k not in FAULT_KINDS for k in kinds):
                raise ValueError(f"kinds must be a non-empty list drawn from {list(FAULT_KINDS)}")
        endpoints = checked.get("endpoints", [])
        if not isinstance(endpoints, list) or any(not isinstance(e, str) for e in endpoints):
            raise ValueError('endpoints must be a list of endpoint names such as "POST /lists/{list_id}"')
        if "slow_ms" in checked:
            slow = float(checked["slow_ms"])
            if slow < 0:
                raise ValueError("slow_ms must not be negative")
            checked["slow_ms"] = slow
        for name in ("fault_rate", "latency_ms"):
            if name in checked:
                value = float(checked[name])
                if name == "fault_rate" and not 0.0 <= value <= 1.0:
                    raise ValueError("fault_rate must be between 0 and 1")
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
        return self.faults.update(checked)

    def draw(self, endpoint: str) -> str | None:
        """The fault this request to `endpoint` meets, or None."""
        limited = self.faults.extra.get("endpoints")
        if limited and endpoint not in limited:
            return None
        if not self.faults.hit():
            return None
        return self.faults.choose(list(self.faults.extra["kinds"]))

    @property
    def slow_seconds(self) -> float:
        return float(self.faults.extra["slow_ms"]) / 1000.0

    def snapshot(self) -> dict[str, Any]:
        return self.faults.snapshot()

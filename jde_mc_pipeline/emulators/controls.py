"""Run-time knobs and counters shared by both emulators (`/_emulator/faults`, `/_emulator/stats`).

Fault injection is random by nature; the generator is seeded so that a test or benchmark that sets a
seed sees the same sequence of faults every time.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any


class Faults:
    """Latency and a failure rate, changeable while the server runs.

    `fault_rate` is the probability (0..1) that a request meets a fault; what the fault is (a 500, a
    reset, a revoked token, a slow answer) is the emulator's choice, drawn with `choose`.
    """

    def __init__(self, fault_rate: float = 0.0, latency_ms: float = 0.0, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.fault_rate = 0.0
        self.latency_ms = 0.0
        self.extra: dict[str, Any] = {}
        self.update({"fault_rate": fault_rate, "latency_ms": latency_ms})

    def update(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Apply `{"fault_rate": R, "latency_ms": MS, ...}`; raises ValueError on a bad value.

        Keys other than the two common ones are kept in `extra` for the emulator to interpret, after it
        has checked them.
        """
        with self._lock:
            if "fault_rate" in settings:
                rate = float(settings["fault_rate"])
                if not 0.0 <= rate <= 1.0:
                    raise ValueError("fault_rate must be between 0 and 1")
                self.fault_rate = rate
            if "latency_ms" in settings:
                latency = float(settings["latency_ms"])
                if latency < 0:
                    raise ValueError("latency_ms must not be negative")
                self.latency_ms = latency
            for key, value in settings.items():
                if key not in ("fault_rate", "latency_ms"):
                    self.extra[key] = value
            return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        """The current settings, as `/_emulator/faults` reports them."""
        return {"fault_rate": self.fault_rate, "latency_ms": self.latency_ms, **self.extra}

    def delay(self) -> None:
        """Sleep for the configured latency (each connection has its own thread, so others go on)."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000.0)

    def hit(self) -> bool:
        """Whether this request meets a fault."""
        if not self.fault_rate:
            return False
        with self._lock:
            return self._random.random() < self.fault_rate

    def choose(self, options: list[str]) -> str:
        """Pick which fault, uniformly and reproducibly."""
        with self._lock:
            return self._random.choice(options)


class RequestStats:
    """Requests counted by endpoint and status, plus named counters (tokens issued, 429s sent, …)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_endpoint: Counter[tuple[str, int]] = Counter()
        self._counters: Counter[str] = Counter()
        self._maxima: dict[str, int] = {}

    def record(self, endpoint: str, status: int) -> None:
        """Count one answered request; `endpoint` is a route template such as `POST /lists/{list_id}`."""
        with self._lock:
            self._by_endpoint[(endpoint, status)] += 1

    def incr(self, name: str, amount: int = 1) -> None:
        """Add to a named counter."""
        with self._lock:
            self._counters[name] += amount

    def observe_max(self, name: str, value: int) -> None:
        """Keep the largest value seen under `name` (e.g. simultaneous connections)."""
        with self._lock:
            if value > self._maxima.get(name, 0):
                self._maxima[name] = value

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self._by_endpoint.clear()
            self._counters.clear()
            self._maxima.clear()

    def snapshot(self) -> dict[str, Any]:
        """`{"requests": {endpoint: {status: n}}, "total_requests": n, <counters>, <maxima>}`."""
        with self._lock:
            requests: dict[str, dict[str, int]] = {}
            for (endpoint, status), count in sorted(self._by_endpoint.items()):
                requests.setdefault(endpoint, {})[str(status)] = count
            return {
                "requests": requests,
                "total_requests": sum(self._by_endpoint.values()),
                **dict(self._counters),
                **self._maxima,
            }

"""`AuditRecorder`: the Mailchimp client's recorder hook, writing its attempts to `mailchimp_writes`.

Why buffered and flushed as the run goes: a crash in the middle of a long push must still leave the
attempts made so far in the audit (issue 5: "written as the run goes, not only at the end"), but one
DuckDB transaction per HTTP attempt would cost more than the attempt. So events are buffered and
written every `flush_every` events or `flush_seconds`, whichever comes first, and at `close()`.

Only writes (every method but GET/HEAD) are kept unless `include_reads`: the relation is the record
of what was *done* to Mailchimp. `HttpEvent` never carries the API key (client.py), and the
Authorization header is not part of it, so nothing secret reaches the file. The client calls the
recorder from its worker threads, hence the lock; a failing flush is counted by the client and
logged, never raised into the push.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.mailchimp.client import HttpEvent

READ_METHODS = ("GET", "HEAD")


class AuditRecorder:
    """A `Recorder` for `MailchimpClient(recorder=...)` that appends to the audit store's writes."""

    def __init__(
        self,
        store: AnyAuditStore,
        run_id: str,
        flush_every: int = 200,
        flush_seconds: float = 5.0,
        *,
        include_reads: bool = False,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_every = max(1, flush_every)
        self.flush_seconds = flush_seconds
        self.include_reads = include_reads
        self.recorded = 0
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._last_flush = time.monotonic()

    def __call__(self, event: HttpEvent) -> None:
        if event.method.upper() in READ_METHODS and not self.include_reads:
            return
        row = {
            "target": event.target,
            "target_key": event.target_key,
            "record_key": ",".join(event.record_keys) or None,
            "method": event.method,
            "path": event.path,
            "request_body": event.request_body,
            "status": event.status,
            "response_body": event.response_body if event.response_body is not None else _error(event),
            "attempt": event.attempt,
            "elapsed_ms": round(event.elapsed_s * 1000.0, 3),
            "at": event.at,
        }
        with self._lock:
            self._buffer.append(row)
            due = (
                len(self._buffer) >= self.flush_every
                or time.monotonic() - self._last_flush >= self.flush_seconds
            )
        if due:
            self.flush()

    def flush(self) -> int:
        """Write the buffered events now; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
                self._last_flush = time.monotonic()
            if not rows:
                return 0
            try:
                written = self.store.record_writes(self.run_id, rows)
            except Exception:
                with self._lock:  # keep them for the next flush rather than lose them
                    self._buffer[:0] = rows
                raise
            self.recorded += written
            return written

    def close(self) -> None:
        """Flush what is left (call at the end of the step, also when it failed)."""
        self.flush()

    def __enter__(self) -> AuditRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error(event: HttpEvent) -> dict[str, str] | None:
    """No answer came: keep the transport error (already free of the key) as the response."""
    return {"error": event.error} if event.error else None

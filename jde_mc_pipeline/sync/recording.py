"""`AuditRecorder`: the Mailchimp client's recorder hook, writing its attempts to `mailchimp_writes`.

Why buffered and flushed as the run goes: a crash in the middle of a long push must still leave the
attempts made so far in the audit (issue 5: "written as the run goes, not only at the end"), but one
DuckDB transaction per HTTP attempt would cost more than the attempt. So events are buffered and
written every `flush_every` events or `flush_seconds` (5 s), whichever comes first, and at `close()`;
the request bodies are kept as the JSON text sent, not as the objects they were made from.
The writes are made by a thread of the recorder's own, never by the thread that made the request: a
flush (JSON of the bodies, a DuckDB or PostgreSQL transaction) would otherwise hold that Mailchimp
connection idle, and the bookkeeping is done beside the writes instead of between them.

Only writes (every method but GET/HEAD) are kept unless `include_reads`: the relation is the record
of what was *done* to Mailchimp. `HttpEvent` never carries the API key (client.py), and the
Authorization header is not part of it, so nothing secret reaches the file. The client calls the
recorder from its worker threads, hence the lock; a flush that fails in the recorder's thread is logged
and its rows kept for the next one, never raised into the push; `close()` raises if the last one fails.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.store import JsonText
from jde_mc_pipeline.mailchimp.client import HttpEvent

READ_METHODS = ("GET", "HEAD")
log = logging.getLogger(__name__)


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
        self._due = threading.Event()
        self._closed = False
        self._flusher = threading.Thread(target=self._flush_when_due, name="audit-recorder", daemon=True)
        self._flusher.start()

    def __call__(self, event: HttpEvent) -> None:
        if event.method.upper() in READ_METHODS and not self.include_reads:
            return
        row = {
            "target": event.target,
            "target_key": event.target_key,
            "record_key": ",".join(event.record_keys) or None,
            "method": event.method,
            "path": event.path,
            "request_body": _sent(event),
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
            self._due.set()

    def _flush_when_due(self) -> None:
        """The recorder's thread: a flush when one is due, at least every `flush_seconds`. A failure keeps
        the rows for the next flush and is logged; `close()` tries once more and raises."""
        while not self._closed:
            self._due.wait(self.flush_seconds)
            self._due.clear()
            if self._closed:
                return
            try:
                self.flush()
            except Exception as exc:  # kept and retried; close() raises it
                log.warning("audit recorder: flush failed, kept for the next one: %s", type(exc).__name__)

    def flush(self) -> int:
        """Write the buffered events now; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
                self._last_flush = time.monotonic()
            if not rows:
                return 0
            try:
                written = self.store.record_writes(self.run_id, [_as_text(row) for row in rows])
            except Exception as exc:
                with self._lock:  # keep those not written for the next flush rather than lose them
                    self._buffer[:0] = rows[getattr(exc, "rows_written", 0) :]
                raise
            self.recorded += written
            return written

    def close(self) -> None:
        """Stop the recorder's thread and flush what is left (call at the end of the step, also when it
        failed)."""
        self._closed = True
        self._due.set()
        self._flusher.join()
        self.flush()

    def __enter__(self) -> AuditRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sent(event: HttpEvent) -> Any:
    """The request body as the JSON sent (the bytes, not the body's objects, are held until the flush)."""
    return event.request_body if event.request_json is None else event.request_json


def _as_text(row: dict[str, Any]) -> dict[str, Any]:
    """A buffered row with its request body as text, at the flush (trusted JSON: not parsed again)."""
    body = row["request_body"]
    return {**row, "request_body": JsonText(body.decode())} if isinstance(body, bytes) else row


def _error(event: HttpEvent) -> dict[str, str] | None:
    """No answer came: keep the transport error (already free of the key) as the response."""
    return {"error": event.error} if event.error else None

"""`/batches`: asynchronous batch operations and their results archive (docs/mailchimp.md, Batch operations).

Each submitted batch moves through `pending` → `preprocessing` (total_operations filled) → `started`
(operations executed, `finished_operations`/`errored_operations` counted as they go) → `finalizing`
(archive built) → `finished`, spending at least `batch_step_seconds` in each stage before the next
(0 = as fast as possible). Only one batch is *run* at a time, as the spec says ("only one batch request
is run at a time"): the `started` stage holds the single run slot, granted in the order batches become
ready. [unconfirmed] The other stages are bookkeeping, not running, so they overlap: a batch can be
preprocessing or finalizing while another runs (each batch has a small thread for its timed stages),
and a batch waiting for the run slot shows `preprocessing`.
Serialising the waits too would charge every queued batch four steps of idle time on top of its run,
which no real fleet does and which made the emulator, not the client, the bottleneck of many batches.

Operations go through the same router and handlers as direct calls (no auth, connection limit or faults:
they run inside Mailchimp), under the same state lock, so direct calls interleave with a running batch.
An operation's query (`params`, and a query string written into its `path`) is applied to GET
operations only: Mailchimp documents `params` for GET operations only (batch guide,
https://mailchimp.com/developer/marketing/guides/run-async-requests-batch-endpoint/; docs/mailchimp.md),
so a PUT asking `exclude_fields` gets its whole answer, and a client cannot come to rely on a query that
Mailchimp drops. [unconfirmed] Dropping a query written into a non-GET `path` as well is our strict
choice: nothing public says what Mailchimp does with it.

At most `max_pending` batches (500, Mailchimp's limit per user) may be unfinished at once; one more is
refused with 429, as Mailchimp's release note of 2021-11-16 says
(https://mailchimp.com/developer/release-notes/batch-api-limit-now-considers-pending-batch-webhooks/).
A batch counts from its POST until it is `finished` or deleted. [unconfirmed] which stages count as
"pending": every one before `finished` (the note does not say; counting them all is the stricter
reading). The note's other half, pending batch *webhooks*, is not emulated (there are no webhooks here).

The results are a gzipped tar served by the emulator itself: `response_body_url` is a loopback URL,
signed and valid for 10 minutes from the status GET that produced it (as Mailchimp's signed storage
URLs are); an expired or altered URL gets 403. The archive holds a directory `<batch_id>-response/` with
JSON files of at most 500 results each, every result `{"status_code", "operation_id", "response"}` where
`response` is the handler's JSON as a string ("" for a 204). An operation whose `body` is not a string
fails when it runs (400), as documented. `errored_operations` counts results with status ≥ 400.

This module runs the batches and builds their archives; the endpoints' handlers are in batch_routes.py.

[unconfirmed] choices: archive layout and file size; DELETE of a batch cancels it and forgets it
(later GET → 404).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from jde_mc_pipeline.emulators.controls import RequestStats
from jde_mc_pipeline.emulators.http import Request, Response
from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.state import EmulatorState

URL_LIFETIME_SECONDS = 600
RESULTS_PER_FILE = 500
ARCHIVE_PATH = "/_emulator/batch-results/"
_URL_SPECIALS = frozenset("?#\t\r\n")  # characters that make `urlsplit` do more than return the path


class BatchHost(Protocol):
    """What the runner uses of the app (`MailchimpApp`): ids and time, counters, its URL, one operation."""

    state: EmulatorState
    stats: RequestStats
    server_url: str

    def execute(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, str]: ...


@dataclass
class Batch:
    id: str
    operations: list[dict[str, Any]]
    submitted_at: str
    status: str = "pending"
    total_operations: int = 0
    finished_operations: int = 0
    errored_operations: int = 0
    completed_at: str = ""
    archive: bytes | None = None
    cancelled: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


class BatchRunner:
    """The batches, their stage threads, and the single run slot."""

    def __init__(self, app: BatchHost, step_seconds: float, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError("max_pending_batches must be at least 1")
        self.app = app
        self.step_seconds = step_seconds
        self.max_pending = max_pending
        self.batches: dict[str, Batch] = {}
        self._unfinished: set[str] = set()  # ids of the batches that count against `max_pending`
        self._turns: deque[Batch] = deque()  # ready batches waiting for the run slot, in order
        self._running = False
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._secret = app.state.new_hex(32).encode()

    def create(self, operations: list[dict[str, Any]]) -> Batch:
        """A new pending batch, known to GET but not started yet (so its first answer shows it pending);
        429 when `max_pending` batches are unfinished already."""
        with self._wake:
            if len(self._unfinished) >= self.max_pending:
                self.app.stats.incr("batches_refused")
                raise errors.too_many_pending_batches(self.max_pending)
            state = self.app.state
            batch = Batch(id=state.new_hex(10), operations=operations, submitted_at=state.now())
            self.batches[batch.id] = batch
            self._unfinished.add(batch.id)
        return batch

    def enqueue(self, batch: Batch) -> None:
        thread = threading.Thread(target=self._process, args=(batch,), name="mailchimp-batch", daemon=True)
        with self._wake:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def cancel(self, batch_id: str) -> bool:
        with self._wake:
            batch = self.batches.pop(batch_id, None)
            self._unfinished.discard(batch_id)
            if batch is not None:
                batch.cancelled = True
                self._wake.notify_all()
        return batch is not None

    def clear(self) -> None:
        with self._wake:
            for batch in self.batches.values():
                batch.cancelled = True
            self.batches.clear()
            self._unfinished.clear()
            self._wake.notify_all()

    def stop(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=5)

    def _advance(self, batch: Batch, status: str) -> bool:
        """Wait one step, then move to `status`; False when the batch or the server was stopped."""
        if self.step_seconds:
            self._stop.wait(self.step_seconds)
        if batch.cancelled or self._stop.is_set():
            return False
        if status == "finished":
            batch.completed_at = self.app.state.now()
            with self._wake:
                self._unfinished.discard(batch.id)
        batch.status = status
        return True

    def _take_turn(self, batch: Batch) -> bool:
        """Wait for the run slot (first come, first served); False when cancelled or stopped meanwhile."""
        with self._wake:
            self._turns.append(batch)
            while (self._running or self._turns[0] is not batch) and not (
                batch.cancelled or self._stop.is_set()
            ):
                self._wake.wait()
            self._turns.remove(batch)
            if batch.cancelled or self._stop.is_set():
                self._wake.notify_all()
                return False
            self._running = True
            return True

    def _end_turn(self) -> None:
        with self._wake:
            self._running = False
            self._wake.notify_all()

    def _process(self, batch: Batch) -> None:
        if not self._advance(batch, "preprocessing"):
            return
        batch.total_operations = len(batch.operations)
        if self.step_seconds:
            self._stop.wait(self.step_seconds)
        if not self._take_turn(batch):
            return
        try:
            batch.status = "started"
            for operation in batch.operations:
                if batch.cancelled or self._stop.is_set():
                    return
                status, text = self._execute(operation)
                batch.results.append(
                    {"status_code": status, "operation_id": operation.get("operation_id"), "response": text}
                )
                batch.errored_operations += status >= 400
                batch.finished_operations += 1
        finally:
            self._end_turn()
        self.app.stats.incr("batch_operations", len(batch.operations))
        if not self._advance(batch, "finalizing"):
            return
        batch.archive = build_archive(batch)
        batch.results = []
        self._advance(batch, "finished")

    def _execute(self, operation: dict[str, Any]) -> tuple[int, str]:
        body = operation.get("body")
        if body is not None and not isinstance(body, str):
            error = errors.schema_error(
                [{"field": "body", "message": "Schema describes string, object found instead"}]
            )
            return error.status, json.dumps(error.document(""))
        path, query = _split(operation["path"])
        if operation["method"] != "GET":
            query = {}  # Mailchimp applies an operation's query to GET operations only (module doc)
        else:
            for name, value in (operation.get("params") or {}).items():
                query[name] = [_param_text(value)]
        return self.app.execute(operation["method"], path, query, (body or "").encode("utf-8"))

    def signed_url(self, batch: Batch) -> str:
        expires = int(self.app.state.clock()) + URL_LIFETIME_SECONDS
        signature = self._sign(batch.id, expires)
        return f"{self.app.server_url}{ARCHIVE_PATH}{batch.id}.tar.gz?expires={expires}&signature={signature}"

    def _sign(self, batch_id: str, expires: int) -> str:
        return hmac.new(self._secret, f"{batch_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def download(self, request: Request) -> Response:
        """The archive at a signed URL; 403 (storage-style XML) when expired or not signed by us."""
        batch_id = request.path[len(ARCHIVE_PATH) :].removesuffix(".tar.gz")
        batch = self.batches.get(batch_id)
        try:
            expires = int(request.query_value("expires") or "")
        except ValueError:
            expires = -1
        valid = hmac.compare_digest(request.query_value("signature") or "", self._sign(batch_id, expires))
        if batch is None or batch.archive is None or not valid or expires < self.app.state.clock():
            body = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code></Error>"
            return Response(403, body, "application/xml; charset=UTF-8")
        self.app.stats.incr("archive_downloads")
        return Response(200, batch.archive, "application/x-gzip")


def _split(target: str) -> tuple[str, dict[str, list[str]]]:
    """Path and query of an operation's `path`; a plain path (nearly all of them) skips `urlsplit`."""
    if target.startswith("/") and not target.startswith("//") and not _URL_SPECIALS.intersection(target):
        return target, {}
    parts = urlsplit(target)
    return parts.path, parse_qs(parts.query, keep_blank_values=True)


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def build_archive(batch: Batch) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        folder = tarfile.TarInfo(f"{batch.id}-response")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        tar.addfile(folder)
        for number, start in enumerate(range(0, len(batch.results), RESULTS_PER_FILE)):
            data = json.dumps(batch.results[start : start + RESULTS_PER_FILE]).encode("utf-8")
            info = tarfile.TarInfo(f"{batch.id}-response/{number:04d}.json")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()

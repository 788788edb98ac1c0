"""Batch operations (`/batches`): many calls in one request, run by Mailchimp in the background.

Why: a submitted batch holds no connection while it runs, so tens of thousands of customer PUTs cost
one POST, a few status polls and one download instead of one connection-slot each.

The flow: `POST /batches` with operations whose `body` is a JSON *string*; poll `GET /batches/{id}` with
growing waits until `status` is `finished` (guidance: start at a few seconds, grow, give up at a
deadline; a batch seen `started` or `finalizing` is polled at the first wait again); download
`response_body_url` (a gzipped tar of JSON arrays of `{status_code, operation_id, response}`, where
`response` is JSON text again), walking every file since the layout is not documented. The download goes
without credentials: the URL is pre-signed storage, and its query is itself a credential (valid for minutes,
it reads an archive of contacts' data), so every failure text built here goes through `cut_signed_urls`:
those texts become outcome reasons and log lines.

Retrying `POST /batches` after a lost connection can submit the batch twice. Only idempotent
operations (PUT upserts) are sent this way, so a double run changes nothing, and the caller does not
infer created/updated from the results (see ecommerce.py).

Operations carry no query: Mailchimp applies an operation's `params` to GET operations only, and the
connector batches only writes, so a `fields`/`exclude_fields` to shrink their results would be ignored
(docs/mailchimp.md, Batch operations; measured: the results archive of 100,000 customer PUTs is 3.9 MB).

Mailchimp refuses a new batch with 429 while 500 batches of the account are unfinished (docs/mailchimp.md).
The client's own retries absorb a short wait; past them, `resubmit_when_refused` waits as for a queued
batch (the poll policy's growing pauses, up to its deadline) and submits again: the batches ahead finish
on their own, so a sync waits its turn instead of failing its records.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import orjson

from jde_mc_pipeline import fast_json
from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.redaction import cut_signed_urls
from jde_mc_pipeline.wait_clock import MAILCHIMP_WAIT

log = logging.getLogger(__name__)


RUNNING_STATUSES = ("started", "finalizing")


@dataclass(frozen=True)
class PollPolicy:
    """How to wait for a batch: first wait, growth factor, longest wait, and the overall deadline."""

    first_wait_s: float = 2.0
    factor: float = 1.5
    max_wait_s: float = 30.0
    deadline_s: float = 1800.0


# Operations and results are named tuples, not dataclasses: a bulk run holds 100,000s of them, and a
# tuple of untracked values leaves the garbage collector's watch after its first pass, where a dataclass
# instance would be walked again by every full collection while it lives.
class Operation(NamedTuple):
    """One call inside a batch; `body` is sent as a JSON string (a `str` is taken as JSON text already),
    `operation_id` echoes in the results."""

    method: str
    path: str
    operation_id: str
    body: Any = None


class OperationResult(NamedTuple):
    """One entry of the results archive, with `response` parsed when the operation was refused (status
    400 or more; None for an empty one). A success's response (the whole customer) is not needed: parsing
    the 100,000 of the initial load took a second and held them all in memory."""

    operation_id: str
    status_code: int
    response: Any


@dataclass(frozen=True)
class BatchRun:
    """The results by operation id, or the reason there are none (`failure`, with the call's answer)."""

    batch_id: str | None
    results: dict[str, OperationResult] = field(default_factory=dict)
    failure: str | None = None
    failure_status: int | None = None
    attempts: int = 0


@dataclass(frozen=True)
class SubmittedBatch:
    """A batch Mailchimp accepted: its id, the first status answer, the operation ids, calls so far."""

    batch_id: str
    status: dict[str, Any]
    keys: list[str]
    attempts: int


def submit_batch(client: MailchimpClient, operations: Sequence[Operation]) -> SubmittedBatch | BatchRun:
    """`POST /batches`: the accepted batch, or a `BatchRun` whose `failure` says why it was not."""
    keys = [op.operation_id for op in operations]
    body = {"operations": [_operation(op) for op in operations]}
    start = client.call("POST", "/batches", body=body, record_keys=keys)
    if not start.ok or not isinstance(start.body, dict) or not start.body.get("id"):
        return _failed(None, "starting the batch failed", start, start.attempts)
    return SubmittedBatch(str(start.body["id"]), start.body, keys, start.attempts)


def refused_for_now(submitted: SubmittedBatch | BatchRun) -> bool:
    """A submission Mailchimp refused with 429 (too many pending batches, or connections) after retries."""
    return isinstance(submitted, BatchRun) and submitted.batch_id is None and submitted.failure_status == 429


def resubmit_when_refused(
    client: MailchimpClient,
    operations: Sequence[Operation],
    submitted: SubmittedBatch | BatchRun,
    poll: PollPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SubmittedBatch | BatchRun:
    """`submitted` again while it is refused for now: after the poll policy's growing pauses, until its
    deadline (the batches ahead finish meanwhile; module doc). Any other outcome passes unchanged."""
    poll = poll or PollPolicy()
    deadline = time.monotonic() + poll.deadline_s
    wait = poll.first_wait_s
    attempts = submitted.attempts
    while refused_for_now(submitted) and time.monotonic() + wait <= deadline:
        log.info("Mailchimp refused a batch for now (429); submitting it again in %.1f s", wait)
        with MAILCHIMP_WAIT.waiting():
            sleep(wait)
        submitted = submit_batch(client, operations)
        attempts += submitted.attempts
        wait = min(wait * poll.factor, poll.max_wait_s)
    return replace(submitted, attempts=attempts)


def await_batch(
    client: MailchimpClient,
    submitted: SubmittedBatch | BatchRun,
    poll: PollPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchRun:
    """Poll a submitted batch until it is finished, then read its results (a failed submission passes)."""
    if isinstance(submitted, BatchRun):
        return submitted
    poll = poll or PollPolicy()
    batch_id, status, keys, attempts = (
        submitted.batch_id,
        submitted.status,
        submitted.keys,
        submitted.attempts,
    )
    deadline = time.monotonic() + poll.deadline_s
    wait = poll.first_wait_s
    while status.get("status") != "finished":
        if time.monotonic() + wait > deadline:
            return BatchRun(
                batch_id,
                failure=f"batch {batch_id} did not finish within {poll.deadline_s:.0f} s "
                f"(last status {status.get('status')!r}); its operations may still be applied",
                attempts=attempts,
            )
        with MAILCHIMP_WAIT.waiting():
            sleep(wait)
        answer = client.call("GET", f"/batches/{batch_id}")
        attempts += answer.attempts
        if not answer.ok or not isinstance(answer.body, dict):
            return _failed(batch_id, f"polling batch {batch_id} failed", answer, attempts)
        status = answer.body
        # A queued batch is waited for with growing pauses; one that runs or is being finalized is near
        # its end (and only one runs at a time), so it is polled at the first, shortest wait.
        running = status.get("status") in RUNNING_STATUSES
        wait = poll.first_wait_s if running else min(wait * poll.factor, poll.max_wait_s)
    archive = client.download(str(status.get("response_body_url") or ""), record_keys=keys)
    if not archive.ok:  # the link lives 10 minutes: a fresh status carries a new one
        fresh = client.call("GET", f"/batches/{batch_id}")
        if fresh.ok and isinstance(fresh.body, dict) and fresh.body.get("response_body_url"):
            archive = client.download(str(fresh.body["response_body_url"]), record_keys=keys)
    if not archive.ok:
        return _failed(batch_id, f"downloading the results of batch {batch_id} failed", archive, attempts)
    try:
        results = read_archive(archive.body)
    except (tarfile.TarError, OSError, EOFError) as exc:
        failure = cut_signed_urls(f"results archive of batch {batch_id} is unreadable: {exc}")
        return BatchRun(batch_id, failure=failure, attempts=attempts)
    return BatchRun(batch_id, results, attempts=attempts)


def read_archive(data: bytes) -> dict[str, OperationResult]:
    """Every `{status_code, operation_id, response}` of a results archive, by operation id."""
    results: dict[str, OperationResult] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive:
            if not member.isfile():
                continue
            handle = archive.extractfile(member)
            try:
                entries = orjson.loads(handle.read()) if handle else None
            except ValueError:
                log.warning("batch archive file %s is not JSON; skipped", member.name)
                continue
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get("operation_id") is not None:
                    op_id, status = str(entry["operation_id"]), int(entry.get("status_code") or 0)
                    response = _parse(entry.get("response")) if status >= 400 else None
                    results[op_id] = OperationResult(op_id, status, response)
    return results


def _operation(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"method": op.method, "path": op.path, "operation_id": op.operation_id}
    if isinstance(op.body, str):
        out["body"] = op.body
    elif op.body is not None:
        out["body"] = encode_body(op.body)
    return out


def encode_body(body: Any) -> str:
    """An operation body as the JSON text `/batches` wants (what `Operation.body` may hold ready-made)."""
    return fast_json.encode(body).decode()


def _parse(response: Any) -> Any:
    if isinstance(response, str):
        try:
            return json.loads(response) if response else None
        except ValueError:
            return response
    return response


def _failed(batch_id: str | None, what: str, answer: ApiResponse, attempts: int) -> BatchRun:
    """A failure quoting the answer, cut: it becomes an outcome reason, and an error text or a storage body
    may quote the signed URL (the client cuts its own transport errors already; this holds for any answer)."""
    failure = cut_signed_urls(f"{what}: {answer.describe()}")
    return BatchRun(batch_id, failure=failure, failure_status=answer.status, attempts=attempts)

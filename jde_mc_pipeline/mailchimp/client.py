"""The HTTP side of the Mailchimp Marketing API v3: data center, pooled session, connection cap, retries,
error classification and the recorder hook. The operations (members, merge fields, store, customers,
batches) live in their own modules and go through `MailchimpClient.call`.

Why `call` returns an `ApiResponse` instead of raising: a refusal (400 with a Mailchimp title) is an
answer about one record, which the caller turns into a `WriteResult`; only setup steps raise.
Transient trouble (429, 5xx, time-outs, lost connections, and a 403 without Mailchimp's JSON, the CDN's
block page under load) is retried here with tenacity: exponential back-off with full jitter, Retry-After
honoured when sent (Mailchimp is not known to send it), bounded by attempts and total time. An error
body that is not JSON (a gateway's HTML page, or nothing) is kept as text and described in one line
(gateway.py), never parsed as a problem document. Each attempt holds one slot of the process-wide
`ConnectionCap` and only while the exchange runs, never while sleeping.

A retried write is not always harmless: after a reset or a time-out the server may have applied the
first attempt. `ApiResponse.ambiguous` says so, and the operations put it in the result's detail.

The API key only ever lives in the session's auth; it is never recorded, logged, or part of an error
text (`_scrub` removes it from transport error texts as a last line of defence). The query of a signed
archive URL is a credential too: `download` records only the path, and `_scrub` cuts the URL that
`requests` quotes in its exception texts (jde_mc_pipeline/redaction.py), before the text becomes the
answer's `error`, the recorded event's error, a log line or an outcome reason.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_result, stop_after_attempt, stop_after_delay, wait_random_exponential
from urllib3.exceptions import NewConnectionError

from jde_mc_pipeline import fast_json
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError, MailchimpConfigError
from jde_mc_pipeline.mailchimp.gateway import describe_foreign_body
from jde_mc_pipeline.mailchimp.limits import (
    DEFAULT_CONNECTION_CAP,
    ConnectionCap,
    checked_cap,
    connection_cap_for,
)
from jde_mc_pipeline.redaction import cut_signed_urls
from jde_mc_pipeline.wait_clock import MAILCHIMP_WAIT

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://{dc}.api.mailchimp.com/3.0"
_DC = re.compile(r"^[a-z]+[0-9]+$")


def data_center(api_key: str) -> str:
    """The data center of a key `<hex>-<dc>` (the part after the last `-`); the error never shows the key."""
    if not api_key or "-" not in api_key:
        raise MailchimpConfigError(
            "MAILCHIMP_API_KEY has no data center suffix: expected '<key>-<dc>' such as '…-us6'"
        )
    dc = api_key.rsplit("-", 1)[1].strip().lower()
    if not _DC.match(dc):
        raise MailchimpConfigError(
            "MAILCHIMP_API_KEY ends in an invalid data center: expected letters then digits, such as 'us6'"
        )
    return dc


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries of one call: attempts, total seconds, and the jittered back-off range."""

    max_attempts: int = 8
    max_total_s: float = 300.0
    base_wait_s: float = 0.5
    max_wait_s: float = 30.0


@dataclass(frozen=True)
class HttpEvent:
    """One attempt as handed to the recorder: what was asked and what came back. Never credentials."""

    method: str
    path: str
    request_body: Any
    status: int | None
    response_body: Any
    attempt: int
    elapsed_s: float
    at: datetime
    target: str | None = None
    target_key: str | None = None
    record_keys: tuple[str, ...] = ()
    error: str | None = None
    request_json: bytes | None = None
    """`request_body` as the JSON sent (the very bytes object): a recorder keeps it without encoding the
    body again or holding on to its objects (a batch of 500 members is 500 dicts)."""


Recorder = Callable[[HttpEvent], None]


@dataclass(frozen=True)
class ApiResponse:
    """The final answer of a call after retries. `status` is None when no answer came at all."""

    method: str
    path: str
    status: int | None
    body: Any
    attempts: int
    error: str | None = None
    ambiguous: bool = False
    retry_after: float | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        """Worth retrying: no answer (but a refused certificate, refused again on every retry), 429, 5xx,
        or a bare 403 (Akamai's block page under load)."""
        if self.status is None:
            return not (self.error or "").startswith("SSLError")
        if self.status == 429 or self.status >= 500:
            return True
        return self.status == 403 and not isinstance(self.body, dict)

    @property
    def permanent(self) -> bool:
        return not self.ok and not self.transient

    @property
    def title(self) -> str | None:
        if isinstance(self.body, dict) and self.body.get("title"):
            return str(self.body["title"])
        if self.status is None:
            return "No Answer"
        return None if self.ok else f"HTTP {self.status}"

    @property
    def detail(self) -> str | None:
        if isinstance(self.body, dict) and not self.ok:
            text = str(self.body.get("detail") or "")
            fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in self.field_errors)
            return " ".join(part for part in (text, f"[{fields}]" if fields else "") if part) or None
        if self.error:
            return self.error
        if not self.ok and self.status is not None:  # a gateway's HTML page or an empty body
            return describe_foreign_body(self.body if isinstance(self.body, str | bytes) else None)
        return None

    @property
    def field_errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    def describe(self) -> str:
        """Title and detail in one line, for result details and log lines."""
        return " - ".join(p for p in (self.title, self.detail) if p) or f"HTTP {self.status}"


class MailchimpClient:
    """A pooled, capped, retrying session for one Mailchimp account (API key).

    `max_connections` (default 8) is shared by every client of the process with the same key; values
    above 10 are clamped with a warning. `timeout` is (connect, read) seconds for every request.
    """

    def __init__(
        self,
        api_key: str,
        *,
        api_url: str | None = None,
        max_connections: int = DEFAULT_CONNECTION_CAP,
        timeout: tuple[float, float] = (10.0, 120.0),
        retry: RetryPolicy | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.dc = data_center(api_key)
        template = api_url or DEFAULT_API_URL
        if "{dc}" not in template:
            raise MailchimpConfigError(
                "MAILCHIMP_API_URL must contain '{dc}', e.g. https://{dc}.api.mailchimp.com/3.0"
            )
        self.base_url = template.replace("{dc}", self.dc).rstrip("/")
        self.max_connections = checked_cap(max_connections)
        self.cap: ConnectionCap = connection_cap_for(api_key, self.max_connections)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.recorder = recorder
        self.recorder_failures = 0
        self._secret = api_key
        self._stats_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        pool = max(self.max_connections, 10)
        self.session = self._session(pool, auth=("jde-mc", api_key))
        self._plain = self._session(pool, auth=None)  # archive downloads: never send the key elsewhere

    @staticmethod
    def _session(pool: int, auth: tuple[str, str] | None) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.auth = auth
        session.headers.update({"User-Agent": "jde-mc-pipeline", "Accept": "application/json"})
        return session

    def __repr__(self) -> str:
        return f"MailchimpClient(base_url={self.base_url!r}, max_connections={self.max_connections})"

    def __enter__(self) -> MailchimpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()
        self._plain.close()

    # -- calls -------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        target: str | None = None,
        target_key: str | None = None,
        record_keys: Iterable[str] = (),
    ) -> ApiResponse:
        """One API call (path relative to /3.0), retried while transient; never raises for HTTP errors."""
        data = None if body is None else fast_json.encode(body)
        shown = path + (f"?{urlencode(params)}" if params else "")
        context = {"target": target, "target_key": target_key, "record_keys": tuple(record_keys)}

        def once(attempt: int) -> ApiResponse:
            return self._exchange(
                method, self.base_url + path, shown, body, data, params, attempt, context, True
            )

        return self._retrying(once)

    def download(self, url: str, record_keys: Iterable[str] = ()) -> ApiResponse:
        """GET an absolute URL (a batch results archive) without credentials; `body` holds the bytes."""
        shown = urlsplit(url).path  # the query of a signed storage URL is a credential: not recorded
        context = {"target": None, "target_key": None, "record_keys": tuple(record_keys)}

        def once(attempt: int) -> ApiResponse:
            return self._exchange("GET", url, shown, None, None, None, attempt, context, False)

        return self._retrying(once)

    def ping(self) -> str:
        """`GET /ping`: the health status, or MailchimpApiError (401 for a wrong key or data center)."""
        answer = self.call("GET", "/ping")
        if not answer.ok:
            raise MailchimpApiError("Mailchimp ping failed", answer.status, answer.title, answer.detail)
        return str((answer.body or {}).get("health_status", ""))

    # -- internals ---------------------------------------------------------------------------------

    def _retrying(self, once: Callable[[int], ApiResponse]) -> ApiResponse:
        policy = self.retry
        jitter = wait_random_exponential(multiplier=policy.base_wait_s, max=policy.max_wait_s)
        attempts = 0
        ambiguous = False

        def attempt() -> ApiResponse:
            nonlocal attempts, ambiguous
            attempts += 1
            answer = once(attempts)
            earlier = ambiguous
            ambiguous = ambiguous or _maybe_applied(answer)
            mark = ambiguous if not answer.ok else earlier
            return _replace(answer, attempts=attempts, ambiguous=mark)

        def wait(state: Any) -> float:
            answer: ApiResponse = state.outcome.result()
            if answer.retry_after is not None:
                return min(answer.retry_after, policy.max_wait_s)
            return jitter(state)

        def note_retry(state: Any) -> None:
            answer: ApiResponse = state.outcome.result()
            self._count("retries")
            log.info("Mailchimp %s %s: %s, retrying", answer.method, answer.path, answer.describe())

        retrying = Retrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_after_delay(policy.max_total_s),
            wait=wait,
            retry=retry_if_result(lambda answer: answer.transient),
            retry_error_callback=lambda state: state.outcome.result(),
            before_sleep=note_retry,
        )
        return retrying(attempt)

    def _exchange(
        self,
        method: str,
        url: str,
        shown: str,
        body: Any,
        data: bytes | None,
        params: Mapping[str, Any] | None,
        attempt: int,
        context: dict[str, Any],
        authenticated: bool,
    ) -> ApiResponse:
        session = self.session if authenticated else self._plain
        headers = {"Content-Type": "application/json"} if data is not None else None
        started_at = datetime.now(UTC)
        error = None
        status = None
        payload: Any = None
        retry_after = None
        with self.cap.slot():
            started = time.monotonic()
            try:
                with MAILCHIMP_WAIT.waiting():
                    reply = session.request(
                        method, url, data=data, params=params, headers=headers, timeout=self.timeout
                    )
            except requests.RequestException as exc:
                error = self._scrub(f"{type(exc).__name__}: {exc}")
                connect_failed = _never_sent(exc)
            else:
                status = reply.status_code
                payload = _payload(reply, authenticated)
                retry_after = _retry_after(reply.headers.get("Retry-After"))
                connect_failed = False
            elapsed = time.monotonic() - started
        self._count("requests")
        self._count(f"status_{status if status is not None else 'none'}")
        if status == 429:
            if not _batch_queue_full(method, shown, payload):
                self.cap.record_throttled()
        elif status is not None:
            self.cap.record_success()
        answer = ApiResponse(method, shown, status, payload, attempt, error, retry_after=retry_after)
        if error and connect_failed:
            answer = _replace(answer, error=error + " (connection not established)")
        self._record(
            HttpEvent(
                method=method,
                path=shown,
                request_body=body,
                status=status,
                response_body={"archive_bytes": len(payload)} if isinstance(payload, bytes) else payload,
                attempt=attempt,
                elapsed_s=round(elapsed, 6),
                at=started_at,
                error=answer.error,
                request_json=data,
                **context,
            )
        )
        return answer

    def _record(self, event: HttpEvent) -> None:
        if self.recorder is None:
            return
        try:
            self.recorder(event)
        except Exception as exc:  # the audit must not crash a batch: counted and logged instead
            self.recorder_failures += 1
            log.warning(
                "Mailchimp recorder failed on %s %s: %s", event.method, event.path, type(exc).__name__
            )

    def _count(self, name: str) -> None:
        with self._stats_lock:
            self.stats[name] += 1

    def _scrub(self, text: str) -> str:
        """A transport error text without the API key nor the query of a signed URL (both credentials)."""
        return cut_signed_urls(text.replace(self._secret, "***") if self._secret else text)


def _replace(answer: ApiResponse, **changes: Any) -> ApiResponse:
    values = {**answer.__dict__, **changes}
    return ApiResponse(**values)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (so a retry cannot double-apply)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def _maybe_applied(answer: ApiResponse) -> bool:
    """Whether a failed attempt may still have been carried out by the server."""
    if answer.status is None:
        return not (answer.error or "").endswith("(connection not established)")
    return answer.status >= 500


def _payload(reply: requests.Response, parse_json: bool) -> Any:
    if not parse_json:
        return reply.content
    if reply.status_code == 204 or not reply.content:
        return None
    try:
        return orjson.loads(reply.content)
    except ValueError:
        return reply.text[:2000]


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _batch_queue_full(method: str, path: str, payload: Any) -> bool:
    """A 429 refusing `POST /batches` for the account's 500 pending batches, not for its connections: it
    says nothing about how many connections this process may hold, so the cap stays as it is (fewer
    connections would not empty Mailchimp's batch queue any sooner). A 429 of that request that names
    connections, or that carries no JSON, still counts as throttling."""
    if method.upper() != "POST" or not path.rstrip("/").endswith("/batches") or not isinstance(payload, dict):
        return False
    detail = str(payload.get("detail") or "").lower()
    return "batch" in detail and "connection" not in detail

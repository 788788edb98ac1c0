"""The emulator as one `app(Request) -> Response`: addressing, auth, the connection limit, faults, routing.

Order for an API request (`/{dc}/3.0/...`), which is what a client experiences:
1. auth (401 `API Key Invalid` for a wrong key or another data center's key);
2. the in-flight count for that key goes up;
3. latency (a 429 too comes back after it, as over a real network);
4. 429 when the count passed `max_connections`, else a possible fault (500, 503, reset, slow answer, a
   gateway's HTML page; see limits.py), else the handler runs under the state lock (an `ApiError` becomes
   a problem document), and `fields` / `exclude_fields` cut the answer (names that match nothing are
   ignored, as Mailchimp does, and recorded for the stats: fields.py);
5. the in-flight count goes down; the answer is counted in the stats under its route template
   (status 0 for a connection reset).
Control endpoints (`/_emulator/...`) skip all of this: no auth, no count, no faults.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from jde_mc_pipeline.emulators.controls import RequestStats
from jde_mc_pipeline.emulators.http import DropConnection, Request, Response
from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.auth import authenticate
from jde_mc_pipeline.emulators.mailchimp.batches import BatchRunner
from jde_mc_pipeline.emulators.mailchimp.control_endpoints import handle_control
from jde_mc_pipeline.emulators.mailchimp.fields import UnknownFieldLog, select_fields, unknown_names
from jde_mc_pipeline.emulators.mailchimp.gateway import GATEWAY_KINDS, gateway_response
from jde_mc_pipeline.emulators.mailchimp.limits import ConnectionLimiter, FaultPlan
from jde_mc_pipeline.emulators.mailchimp.marketer_churn import MarketerAction
from jde_mc_pipeline.emulators.mailchimp.routes import build_router
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import EmulatorState
from jde_mc_pipeline.emulators.mailchimp.validation import EmailRules

log = logging.getLogger(__name__)
_API_PATH = re.compile(r"^/([^/]+)/3\.0(/.*)?$")
JSON_TYPE = "application/json; charset=utf-8"
MARKETER_LOG = 1000
"""The marketer's latest actions kept for `GET /_emulator/marketer`."""


class MailchimpApp:
    """State, rules, limits and counters of one emulated Mailchimp account with one API key."""

    def __init__(
        self,
        *,
        api_key: str,
        list_id: str,
        latency_ms: float,
        fault_rate: float,
        max_connections: int,
        seed: int | None,
        fake_email_domains: Iterable[str],
        batch_step_seconds: float,
        fault_kinds: tuple[str, ...],
        slow_ms: float,
        clock: Callable[[], float],
        max_pending_batches: int,
    ) -> None:
        if "-" not in api_key:
            raise ValueError("api_key must look like <hex>-<dc>, e.g. 0123456789abcdef0123456789abcdef-us21")
        self.api_key = api_key
        self.dc = api_key.rpartition("-")[2]
        self.list_id = list_id
        self.server_url = ""  # set by the server once its port is known
        self.state = EmulatorState(list_id, seed=seed, clock=clock)
        self.stats = RequestStats()
        self.unknown_fields = UnknownFieldLog()
        self.limiter = ConnectionLimiter(max_connections, self.stats)
        self.faults = FaultPlan(fault_rate, latency_ms, seed, fault_kinds, slow_ms)
        self._initial_faults = self.faults.snapshot()
        self.email_rules = EmailRules(fake_email_domains)
        self.router = build_router()
        self.batches = BatchRunner(self, batch_step_seconds, max_pending_batches)
        self._initial_state = self.state.to_json()
        self.marketer_actions: deque[dict[str, str]] = deque(maxlen=MARKETER_LOG)

    @property
    def server_url(self) -> str:
        return self._server_url

    @server_url.setter
    def server_url(self, url: str) -> None:
        self._server_url = url
        self.api_base = f"{url}/{self.dc}/3.0"  # the base of `_links` hrefs, built once

    def remember_start(self) -> None:
        """Make the current content the one `POST /_emulator/reset` returns to (after loading a file)."""
        self._initial_state = self.state.to_json()

    def reset(self) -> None:
        self.batches.clear()
        self.state.load_json(self._initial_state)
        self.faults.update(self._initial_faults)
        self.stats.reset()
        self.unknown_fields.clear()
        self.marketer_actions.clear()

    def record_marketer(self, taken: list[MarketerAction | None]) -> None:
        """Count a marketer round in the stats and keep its actions for `GET /_emulator/marketer`."""
        self.stats.incr("marketer_rounds")
        now = self.state.now()
        for action in taken:
            if action is None:
                self.stats.incr("marketer_skipped")
                continue
            self.stats.incr(f"marketer_{action.kind}")
            self.marketer_actions.append(
                {
                    "at": now,
                    "kind": action.kind,
                    "email_address": action.email_address,
                    "detail": action.detail,
                }
            )

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return handle_control(self, request)
        found = _API_PATH.match(request.path)
        if found is None:
            self.stats.record(f"{request.method} (outside /{{dc}}/3.0)", 404)
            return errors.problem_response(errors.not_found())
        url_dc, path = found.group(1), found.group(2) or "/"
        try:
            endpoint = self.router.match(request.method, path)[0]
        except errors.ApiError:
            endpoint = f"{request.method} (no route)"
        try:
            key = authenticate(request, url_dc, self.api_key)
        except errors.ApiError as error:
            self.stats.record(endpoint, error.status)
            return errors.problem_response(error)
        status = 0
        try:
            response = self._limited(key, request, path, endpoint)
            status = response.status
            return response
        finally:
            self.stats.record(endpoint, status)

    def _limited(self, key: str, request: Request, path: str, endpoint: str) -> Response:
        within_limit = self.limiter.enter(key)
        try:
            self.faults.faults.delay()
            if not within_limit:
                self.stats.incr("throttled")
                return errors.problem_response(errors.too_many_requests(self.limiter.max_connections))
            fault = self.faults.draw(endpoint)
            if fault is not None:
                self.stats.incr(f"fault_{fault}")
            if fault in ("500", "503"):
                error = errors.internal_error() if fault == "500" else errors.service_unavailable()
                return errors.problem_response(error)
            if fault in GATEWAY_KINDS:
                return gateway_response(fault, request.path)
            if fault == "reset":
                raise DropConnection
            if fault == "slow":
                time.sleep(self.faults.slow_seconds)
            response = self._respond(
                self.run(request.method, path, request.query, request.body), request.query, endpoint
            )
            if fault == "reset_after":
                raise DropConnection
            return response
        finally:
            self.limiter.leave(key)

    def run(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> Reply | errors.ApiError:
        """Route and run one operation under the state lock (direct calls and batch operations alike)."""
        try:
            _, handler, params = self.router.match(method, path)
            with self.state.lock:
                return handler(Call(method, params, query, body, self))
        except errors.ApiError as error:
            return error
        except Exception:
            log.exception("emulator handler failed on %s %s", method, path)
            return errors.internal_error()

    def execute(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> tuple[int, str]:
        """A batch operation: (status code, response JSON as a string, "" when empty)."""
        outcome = self.run(method, path, query, body)
        if isinstance(outcome, errors.ApiError):
            return outcome.status, json.dumps(outcome.document(str(uuid.uuid4())))
        if outcome.document is None:
            return outcome.status, ""
        if query:
            self._note_unknown(outcome.document, query, lambda: self.router.match(method, path)[0])
        return outcome.status, json.dumps(select_fields(outcome.document, query), ensure_ascii=False)

    def _respond(
        self, outcome: Reply | errors.ApiError, query: dict[str, list[str]], endpoint: str
    ) -> Response:
        if isinstance(outcome, errors.ApiError):
            return errors.problem_response(outcome)
        headers = {"X-Request-Id": str(uuid.uuid4())}
        if outcome.document is None:
            return Response(outcome.status, b"", None, {"Content-Type": JSON_TYPE, **headers})
        if query:
            self._note_unknown(outcome.document, query, lambda: endpoint)
        return Response.json(outcome.status, select_fields(outcome.document, query), headers=headers)

    def _note_unknown(self, document: Any, query: dict[str, list[str]], endpoint: Callable[[], str]) -> None:
        """Record the `fields` / `exclude_fields` names that match nothing (the endpoint named only then)."""
        names = unknown_names(document, query)
        if names:
            self.unknown_fields.record(endpoint(), names)

    def stats_snapshot(self) -> dict[str, Any]:
        """`GET /_emulator/stats`: requests by endpoint and status, max_concurrent, throttled, faults, ..."""
        snapshot: dict[str, Any] = {
            "throttled": 0,
            "max_concurrent": 0,
            "batch_operations": 0,
            "archive_downloads": 0,
            "batches_refused": 0,
        }
        snapshot.update(self.stats.snapshot())
        snapshot["unknown_fields"] = self.unknown_fields.snapshot()
        snapshot["in_flight"] = self.limiter.in_flight()
        snapshot["max_connections"] = self.limiter.max_connections
        return snapshot

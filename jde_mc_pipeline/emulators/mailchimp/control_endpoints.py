"""`/_emulator/...`: what tests, the demo and benchmarks use to steer and observe the emulator.

No auth, not counted against the connection limit, never faulted, not in the request stats.
- `GET /_emulator/stats`: `requests` {route template: {status: n}} (status 0 = connection reset),
  `total_requests`, `max_concurrent`, `throttled` (429s sent for the connection limit), `in_flight`,
  `max_connections`, `batch_operations`, `archive_downloads`, `batches_refused` (429s sent for the
  pending-batches limit), `unknown_fields` ({route template: [names in `fields` / `exclude_fields` that
  matched nothing]}: ignored, as Mailchimp ignores them; fields.py), and `fault_<kind>` per injected fault.
- `GET|POST /_emulator/faults`: read / change `{"fault_rate", "latency_ms", "kinds", "slow_ms",
  "endpoints"}`; `kinds` from `500`, `503`, `reset`, `reset_after`, `slow` and the gateway's own answers
  `html_429`, `html_503`, `html_403`, `bare_403` (limits.py, gateway.py); a bad value → 400
  `{"error": ...}` and nothing changes.
- `POST /_emulator/reset`: back to the starting content (the state file if one was loaded), the starting
  fault settings, zeroed stats, no batches.
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/unsubscribe`: the person unsubscribes
  themselves (status `unsubscribed`, compliance state: the API can no longer subscribe them).
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/clean`: the address bounced (`cleaned`).
- `GET /_emulator/batch-results/{batch_id}.tar.gz?...`: the signed batch results download.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from jde_mc_pipeline.emulators.http import Request, Response
from jde_mc_pipeline.emulators.mailchimp.batches import ARCHIVE_PATH, BatchRunner
from jde_mc_pipeline.emulators.mailchimp.limits import FaultPlan
from jde_mc_pipeline.emulators.mailchimp.state import EmulatorState

_MEMBER_ACTION = re.compile(r"^/_emulator/lists/([^/]+)/members/([0-9a-f]{32})/(unsubscribe|clean)$")
SELF_UNSUBSCRIBE = "N/A (Unsubscribed by user)"


class ControlledApp(Protocol):
    """What the control endpoints use of the app (`MailchimpApp`, which imports this module)."""

    state: EmulatorState
    batches: BatchRunner
    faults: FaultPlan

    def stats_snapshot(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


def handle_control(app: ControlledApp, request: Request) -> Response:
    path = request.path.rstrip("/")
    method = request.method
    if method == "GET" and path.startswith(ARCHIVE_PATH):
        return app.batches.download(request)
    if method == "GET" and path == "/_emulator/stats":
        return Response.json(200, app.stats_snapshot())
    if path == "/_emulator/faults" and method in ("GET", "POST"):
        return _faults(app, request)
    if method == "POST" and path == "/_emulator/reset":
        app.reset()
        return Response.json(200, {"reset": True})
    action = _MEMBER_ACTION.match(path)
    if method == "POST" and action:
        return _member_action(app, *action.groups())
    return Response.json(404, {"error": f"no control endpoint {method} {path}"})


def _faults(app: ControlledApp, request: Request) -> Response:
    if request.method == "GET":
        return Response.json(200, app.faults.snapshot())
    try:
        settings = json.loads(request.body or b"{}")
        if not isinstance(settings, dict):
            raise ValueError("the body must be a JSON object")
        return Response.json(200, app.faults.update(settings))
    except (ValueError, TypeError) as error:
        return Response.json(400, {"error": str(error)})


def _member_action(app: ControlledApp, list_id: str, member_hash: str, action: str) -> Response:
    state = app.state
    with state.lock:
        audience = state.lists.get(list_id)
        member = audience.members.get(member_hash) if audience else None
        if audience is None or member is None:
            return Response.json(404, {"error": f"no member {member_hash} in list {list_id}"})
        now = state.now()
        audience.set_status(member, "unsubscribed" if action == "unsubscribe" else "cleaned")
        member.unsubscribe_reason = SELF_UNSUBSCRIBE if action == "unsubscribe" else ""
        member.compliance = True
        member.last_changed = now
        document: dict[str, Any] = {
            "id": member_hash,
            "email_address": member.email_address,
            "status": member.status,
        }
    return Response.json(200, document)

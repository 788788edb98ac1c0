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
- `GET /_emulator/batch-results/{batch_id}.tar.gz?...`: the signed batch results download.

Playing the contact or the marketer in the Mailchimp UI (marketer.py says which of these move the
member's `last_changed`, the field `GET /lists/{id}/members?since_last_changed=` filters on). Each
answers 200 with the member as `GET /3.0/lists/{list_id}/members/{subscriber_hash}` shows it, or 204
for a deletion; 404 with a problem document (`application/problem+json`, title `Resource Not Found`)
for an unknown list, member, store or customer; 400 (`Invalid Resource`) for a bad body, changing
nothing. `{subscriber_hash}` is the MD5 of the lower-cased e-mail. In short, for a drift read:
unsubscribe, clean, archive and a merge-field edit always move `last_changed` (to the emulator clock's
second); a tag change moves it when the member's tags change (so does the API's `/tags`); the members
list with `since_last_changed=T` holds members changed strictly after T, archived ones only with
`status=archived` added, permanently deleted ones never (members.py).
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/unsubscribe`: the person unsubscribes
  themselves (status `unsubscribed`, compliance state: the API can no longer subscribe them).
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/clean`: the address bounced (`cleaned`).
- `PATCH /_emulator/lists/{list_id}/members/{subscriber_hash}` body `{"merge_fields": {"COMPANY": "x"}}`:
  edit merge fields (`""` clears one; a tag the audience has no field for → 400).
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/tags` body
  `{"tags": [{"name": "T", "status": "active"|"inactive"}]}`: add (active) or remove (inactive) tags.
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/archive`: archive (any status; the member
  then reads `archived`, and the members list shows it only with `status=archived`).
- `POST /_emulator/lists/{list_id}/members/{subscriber_hash}/delete-permanent` → 204: gone from every
  read (404), and the address can never be added again by the API (`Forgotten Email Not Subscribed`).
- `DELETE /_emulator/ecommerce/stores/{store_id}/customers/{customer_id}` → 204: the customer is gone;
  its contact stays.
- `GET /_emulator/marketer`: `{"actions": [{"at", "kind", "email_address", "detail"}]}`, the latest
  1,000 actions of `--marketer K/S` (marketer_churn.py), oldest first; counted in the stats as
  `marketer_rounds`, `marketer_<kind>` and `marketer_skipped`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, Protocol

from jde_mc_pipeline.emulators.http import Request, Response
from jde_mc_pipeline.emulators.mailchimp import errors, marketer
from jde_mc_pipeline.emulators.mailchimp.batches import ARCHIVE_PATH, BatchRunner
from jde_mc_pipeline.emulators.mailchimp.context import AppContext
from jde_mc_pipeline.emulators.mailchimp.limits import FaultPlan

_MEMBER = re.compile(r"^/_emulator/lists/([^/]+)/members/([^/]+)$")
_MEMBER_ACTION = re.compile(
    r"^/_emulator/lists/([^/]+)/members/([^/]+)/(unsubscribe|clean|tags|archive|delete-permanent)$"
)
_CUSTOMER = re.compile(r"^/_emulator/ecommerce/stores/([^/]+)/customers/([^/]+)$")


class ControlledApp(AppContext, Protocol):
    """What the control endpoints use of the app (`MailchimpApp`, which imports this module)."""

    batches: BatchRunner
    faults: FaultPlan
    marketer_actions: Iterable[dict[str, str]]

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
    if method == "GET" and path == "/_emulator/marketer":
        return Response.json(200, {"actions": list(app.marketer_actions)})
    try:
        with app.state.lock:
            return _marketer(app, request, method, path)
    except errors.ApiError as error:
        return errors.problem_response(error)


def _marketer(app: ControlledApp, request: Request, method: str, path: str) -> Response:
    """The contact's and the marketer's actions (module doc); raises ApiError."""
    if (found := _MEMBER_ACTION.match(path)) and method == "POST":
        list_id, member_hash, action = found.groups()
        audience, member = marketer.find_member(app, list_id, member_hash)
        if action == "delete-permanent":
            marketer.delete_permanently(audience, member_hash)
            return Response(204, b"", None)
        if action in ("unsubscribe", "clean"):
            marketer.unsubscribe(app, audience, member, bounced=action == "clean")
        elif action == "tags":
            marketer.change_tags(app, audience, member, _body(request))
        else:
            marketer.archive(app, audience, member)
        return Response.json(200, marketer.member_document(app, audience, member_hash, member))
    if (found := _MEMBER.match(path)) and method == "PATCH":
        list_id, member_hash = found.groups()
        audience, member = marketer.find_member(app, list_id, member_hash)
        marketer.edit_merge_fields(app, audience, member, _body(request))
        return Response.json(200, marketer.member_document(app, audience, member_hash, member))
    if (found := _CUSTOMER.match(path)) and method == "DELETE":
        marketer.delete_customer(app, *found.groups())
        return Response(204, b"", None)
    return Response.json(404, {"error": f"no control endpoint {method} {path}"})


def _body(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        raise errors.json_parse_error() from None


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

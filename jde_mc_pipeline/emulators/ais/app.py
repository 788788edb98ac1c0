"""Routing of the AIS REST paths (`/jderest/v2/...`): content type, auth, faults and statistics.

Decisions for [UNCONFIRMED] details:
- A POST whose `Content-Type` is not JSON gets 415; an empty body with no `Content-Type` (the `next`
  link, header-only login or logout) is read as `{}`. Malformed JSON or a non-object body gets 400.
- Token request: body credentials, or `Authorization: Basic` with the `jde-AIS-Auth-*` headers. The
  user name compares case-insensitively (JDE user ids are upper case), the password exactly. An
  environment other than the configured one gets 403 with the env/role message integrators report;
  any role is accepted (default `*ALL`). No credentials at all → 400. Stateless per-call credentials on
  the data service are not served: a data request without a token gets 444.
- Faults (`fault_rate` > 0) hit `/jderest` calls only, after the latency. Kinds, drawn uniformly from
  `fault_kinds` (default all three): `error` → 500 `ServiceErrorResponse`; `drop` → connection reset
  before any processing; `revoke` → the caller's token is dropped so the call gets 444 (calls
  without a token draw only among the other kinds).
- `GET /jderest/defaultconfig` (and v2) answers Oracle's documented fields without authentication
  (`sessionTimeout` = token TTL in minutes, as text).
- Optional knob `require_cookie` (via `/_emulator/faults`): calls must then carry the `JSESSIONID`
  cookie set by `tokenrequest`, or get 444, as behind a load balancer with sticky sessions.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

from jde_mc_pipeline.emulators.ais.control_routes import FAULT_KINDS, ControlRoutes
from jde_mc_pipeline.emulators.ais.dataservice import DataService
from jde_mc_pipeline.emulators.ais.query import QueryError
from jde_mc_pipeline.emulators.ais.responses import (
    AisError,
    authorization_failure,
    invalid_token,
    result_set_expired,
    service_error,
)
from jde_mc_pipeline.emulators.ais.store import Store
from jde_mc_pipeline.emulators.ais.tokens import InvalidToken, Session, TokenRegistry
from jde_mc_pipeline.emulators.controls import Faults, RequestStats
from jde_mc_pipeline.emulators.http import DropConnection, Request, Response

_PATHS = {
    "/jderest/v2/tokenrequest": "tokenrequest",
    "/jderest/v2/tokenrequest/validate": "validate",
    "/jderest/v2/tokenrequest/logout": "logout",
    "/jderest/v2/dataservice": "dataservice",
    "/jderest/v2/dataservice/next": "next",
    "/jderest/defaultconfig": "defaultconfig",
    "/jderest/v2/defaultconfig": "defaultconfig",
}


@dataclass(frozen=True)
class Identity:
    """Who the emulator accepts and how that user's session is set up."""

    username: str
    password: str
    environment: str
    simple_date_format: str


class AisApp:
    """The emulator's request handler: `app(Request) -> Response`."""

    def __init__(
        self,
        identity: Identity,
        store: Store,
        tokens: TokenRegistry,
        dataservice: DataService,
        faults: Faults,
        stats: RequestStats,
        clock: Callable[[], datetime],
    ) -> None:
        self.identity = identity
        self.store = store
        self.tokens = tokens
        self.dataservice = dataservice
        self.faults = faults
        self.stats = stats
        self.clock = clock
        self.controls = ControlRoutes(self)

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/_emulator/"):
            return self.controls(request)
        route = _PATHS.get(request.path.rstrip("/"))
        endpoint = f"{request.method} {request.path.rstrip('/')}" if route else "other"
        try:
            response = self._serve(route, request)
        except DropConnection:
            self.stats.record(endpoint, 0)
            self.stats.incr("connections_dropped")
            raise
        except AisError as error:
            response = error.response()
        except Exception as error:  # an emulator bug: answer it, so it is not mistaken for a dropped line
            self.stats.incr("internal_errors")
            detail = f"Emulator internal error: {type(error).__name__}: {error}"
            response = service_error(500, detail, self.clock(), exception=type(error).__name__).response()
        self.stats.record(endpoint, response.status)
        if response.status == 444:
            self.stats.incr("responses_444")
        return response

    def _serve(self, route: str | None, request: Request) -> Response:
        now = self.clock()
        if route is None:
            raise service_error(404, f"no AIS service at {request.path}", now)
        if route == "defaultconfig" and request.method == "GET":
            return Response.json(200, _default_config(self.identity, self.tokens.ttl))
        if request.method != "POST":
            raise service_error(405, f"{request.method} is not allowed on {request.path}; use POST", now)
        body = _body(request, now)
        self.faults.delay()
        revoke = self._fault(route != "tokenrequest", now)
        if route == "tokenrequest":
            return self._token_request(request, body, now)
        token, device = _credentials(request, body, route)
        if revoke and token:
            self.tokens.revoke(token)
        session = self._session(request, token, device, route, body)
        if route == "validate":
            return Response.json(200, {"isValidSession": True})
        if route == "logout":
            self.tokens.logout(session)
            self.dataservice.forget_token(session.token)
            self.stats.incr("logouts")
            return Response.json(200, {"status": "Success"})
        base_url = f"http://{request.headers.get('Host') or '127.0.0.1'}"
        try:
            if route == "next":
                document = self.dataservice.next_page(request.query_value("rid"), session, base_url)
            else:
                document = self.dataservice.run(body, session, base_url, self.identity.simple_date_format)
        except QueryError as error:
            raise service_error(400, str(error), now) from None
        except KeyError:
            raise result_set_expired() from None
        return Response.json(200, document)

    def _fault(self, has_token: bool, now: datetime) -> bool:
        """Apply an injected fault; True when the caller's token must be revoked."""
        if not self.faults.hit():
            return False
        kinds = [k for k in self.faults.extra.get("fault_kinds", FAULT_KINDS) if has_token or k != "revoke"]
        if not kinds:
            return False
        kind = self.faults.choose(kinds)
        self.stats.incr(f"faults_{kind}")
        if kind == "drop":
            raise DropConnection()
        if kind == "error":
            raise service_error(500, "An unexpected error occurred on the AIS Server (injected fault)", now)
        return True

    def _session(
        self, request: Request, token: str | None, device: str | None, route: str, body: dict
    ) -> Session:
        touch = route != "validate" or _truthy(body.get("touch"))
        try:
            session = self.tokens.check(
                token, device, request.client, device_required=route == "dataservice", touch=touch
            )
        except InvalidToken:
            raise invalid_token(self.clock()) from None
        if self.faults.extra.get("require_cookie") and _cookie(request) != session.cookie:
            raise invalid_token(self.clock())
        return session

    def _token_request(self, request: Request, body: dict[str, Any], now: datetime) -> Response:
        headers = request.headers
        username, password = body.get("username"), body.get("password")
        authorization = headers.get("Authorization") or ""
        if username is None and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise authorization_failure(now) from None
            username, _, password = decoded.partition(":")
        if not isinstance(username, str) or not isinstance(password, str):
            raise service_error(400, "username and password are required (body or Basic authorization)", now)
        environment = (
            body.get("environment") or headers.get("jde-AIS-Auth-Environment") or self.identity.environment
        )
        role = body.get("role") or headers.get("jde-AIS-Auth-Role") or "*ALL"
        device = body.get("deviceName") or headers.get("jde-AIS-Auth-Device")
        if username.upper() != self.identity.username.upper() or password != self.identity.password:
            raise authorization_failure(now)
        if str(environment).upper() != self.identity.environment.upper():
            raise authorization_failure(now, "The list of Environments and Roles was returned unexpectedly.")
        session = self.tokens.issue(username, self.identity.environment, str(role), device, request.client)
        self.stats.incr("tokens_issued")
        document = _token_document(self.identity, session, f"http://{headers.get('Host') or '127.0.0.1'}")
        cookie = f"JSESSIONID={session.cookie}; Path=/; HttpOnly"
        return Response.json(200, document, headers={"Set-Cookie": cookie})


def _body(request: Request, now: datetime) -> dict[str, Any]:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not request.body and not content_type:
        return {}
    if content_type != "application/json":
        raise service_error(
            415, f"Unsupported Media Type {content_type or '(none)'}: send application/json", now
        )
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise service_error(400, f"Malformed JSON body: {error}", now) from None
    if not isinstance(body, dict):
        raise service_error(400, "The request body must be a JSON object", now)
    return body


def _credentials(request: Request, body: dict[str, Any], route: str) -> tuple[str | None, str | None]:
    headers = request.headers
    token = request.query_value("token") if route == "next" else None
    token = token or body.get("token") or headers.get("jde-AIS-Auth")
    device = body.get("deviceName") or headers.get("jde-AIS-Auth-Device")
    if route == "next":
        device = request.query_value("deviceName") or device
    return token, device


def _cookie(request: Request) -> str | None:
    try:
        jar = SimpleCookie(request.headers.get("Cookie") or "")
    except CookieError:
        return None
    morsel = jar.get("JSESSIONID")
    return morsel.value if morsel else None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _default_config(identity: Identity, ttl: float) -> dict[str, Any]:
    """`GET /jderest/defaultconfig`: no authentication; `sessionTimeout` in minutes, as text."""
    return {
        "jasHost": "127.0.0.1",
        "jasPort": "0",
        "jasProtocol": "http",
        "defaultEnvironment": identity.environment,
        "defaultRole": "*ALL",
        "displayEnvironment": True,
        "displayRole": True,
        "displayJasServer": False,
        "ssoAllowed": False,
        "allowSelfSignedSsl": False,
        "sessionTimeout": str(max(1, round(ttl / 60))),
        "timeToLive": "720",
        "aisVersion": "emulator",
        "capabilityList": [
            {
                "name": name,
                "shortDescription": name,
                "longDescription": name,
                "asOfRelease": release,
                "sinceVersion": version,
            }
            for name, release, version in (
                ("dataService", "9.2.0.2", "v1"),
                ("nextPage", "9.2.1.2", "v2"),
            )
        ],
        "defaultCachingOn": False,
        "keepJasSessionOpen": True,
        "allowBasicAuth": True,
        "allowUserPassword": True,
        "requiredCapabilityMissing": False,
    }


def _token_document(identity: Identity, session: Session, base_url: str) -> dict[str, Any]:
    pattern = identity.simple_date_format
    order = "".join(
        {"M": "M", "d": "D", "y": "E"}[c] for c in dict.fromkeys(c for c in pattern if c in "Mdy")
    )
    separator = next((c for c in pattern if not c.isalpha()), "/")
    return {
        "username": session.username,
        "environment": session.environment,
        "role": session.role,
        "jasserver": base_url,
        "userInfo": {
            "token": session.token,
            "langPref": "  ",
            "locale": "en",
            "dateFormat": order,
            "dateSeperator": separator,
            "simpleDateFormat": pattern,
            "decimalFormat": ".",
            "addressNumber": 1,
            "alphaName": "AIS Emulator User",
            "appsRelease": "E920",
            "country": " ",
            "username": identity.username.upper(),
            "timeFormat": "24",
        },
        "userAuthorized": False,
        "version": None,
        "poStringJSON": None,
        "altPoStringJSON": None,
        "aisSessionCookie": f"{session.cookie}!-1217528743!{int(time.time() * 1000)}",
    }

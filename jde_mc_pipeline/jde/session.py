"""One AIS session: the HTTP connection pool, the token lifecycle and the retry policy (docs/ais.md,
Tokens and sessions).

Why it is built this way:
- One pooled `requests.Session` keeps connections alive and keeps cookies: load-balanced AIS answers 444
  right after login when the JSESSIONID cookie of the token request is dropped.
- `deviceName` goes with every call, in the body and in the `jde-AIS-Auth-Device` header: tokens are
  bound to it, and without it AIS binds them to the caller's IP, which breaks behind NAT.
- The token travels in the `jde-AIS-Auth` header (and in data-service bodies), never in a URL: next-page
  links carry it in their query string, and a URL ends up in library debug logs and exception texts. The
  client removes it from the links and relies on the header, which AIS documents for `next`.
- Transient failures (5xx, connection errors, timeouts) are retried with tenacity: exponential backoff
  with full jitter, a bounded number of attempts. A 444 (and a 403 on a data call) is not transient: it
  is reported as `TokenRejected` so that the caller re-authenticates once. Any other 4xx fails at once.
- An HTTP 500 carrying JAS_MSG347 (expired next-page result set) is reported as `ResultSetExpired`: the
  caller re-runs the query, retrying the same link can never succeed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

import requests
import tenacity

from jde_mc_pipeline.jde.dates import simple_date_format_from_jde
from jde_mc_pipeline.jde.errors import (
    AisAuthError,
    AisProtocolError,
    AisRequestError,
    AisServerError,
    ais_message,
    scrub,
)
from jde_mc_pipeline.wait_clock import AIS_WAIT

log = logging.getLogger(__name__)

TOKEN_PATH = "/jderest/v2/tokenrequest"
LOGOUT_PATH = "/jderest/v2/tokenrequest/logout"
STATUS_INVALID_TOKEN = 444


@dataclass
class ClientStats:
    """Counters for benchmarks and run metadata. `calls` counts every HTTP request, retries included."""

    calls: int = 0
    data_calls: int = 0
    tokens: int = 0
    pages: int = 0
    rows: int = 0
    retries: int = 0
    reauths: int = 0
    restarts: int = 0
    logouts: int = 0

    def copy(self) -> ClientStats:
        return ClientStats(**self.as_dict())

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def add(self, other: ClientStats) -> None:
        """Count another client's calls here too (in place: the session holds this object)."""
        for name, value in other.as_dict().items():
            setattr(self, name, getattr(self, name) + value)

    def __sub__(self, other: ClientStats) -> ClientStats:
        return ClientStats(**{name: value - getattr(other, name) for name, value in self.as_dict().items()})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the transient-failure retries: attempts per call and the backoff range in seconds."""

    max_attempts: int = 5
    initial_wait: float = 0.2
    max_wait: float = 10.0


class TokenRejected(Exception):  # noqa: N818 - a signal to re-authenticate, caught by the client
    """AIS answered 444 (or 403 on a data call): the token is no longer valid."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ResultSetExpired(Exception):  # noqa: N818 - a signal to re-run the query, caught by the pager
    """AIS answered HTTP 500 JAS_MSG347: the next-page result set expired."""


class _TransientError(Exception):
    """A failure worth retrying; `detail` is already free of secrets."""

    def __init__(self, detail: str, status: int | None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class AisSession:
    """Token and HTTP handling for one AIS server; `AisClient` builds reads on top of it."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        environment: str | None,
        role: str,
        device_name: str,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        stats: ClientStats,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._environment = environment
        self._role = role
        self.device_name = device_name
        self._timeout = timeout
        self._retry = retry
        self.stats = stats
        self._http = requests.Session()
        self._http.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        self._token: str | None = None
        self._last_error, self._last_status = "", None
        self.date_pattern: str | None = None

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- token lifecycle -------------------------------------------------------------------------------

    def login(self) -> None:
        """Request a fresh token (dropping any previous one) and read the user's date format."""
        self._token = None
        body: dict[str, Any] = {
            "username": self._username,
            "password": self._password,
            "deviceName": self.device_name,
            "role": self._role,
        }
        if self._environment:
            body["environment"] = self._environment
        self.stats.tokens += 1
        try:
            doc = self._call(self.url(TOKEN_PATH), body, what="token request", table=None)
        except TokenRejected:
            raise AisAuthError(
                f"AIS refused the token request of user {self._username!r} (environment "
                f"{self._environment or 'server default'}, role {self._role}): {self._last_error}",
                status=self._last_status,
            ) from None
        user_info = doc.get("userInfo") if isinstance(doc.get("userInfo"), dict) else {}
        token = user_info.get("token")
        if not isinstance(token, str) or not token:
            raise AisProtocolError("the token response has no userInfo.token")
        self._token = token
        self.date_pattern = _date_pattern(user_info)

    def logout(self) -> None:
        """End the AIS session. Never raises: it also runs while another failure is propagating."""
        token, self._token = self._token, None
        if token is None:
            return
        self.stats.logouts += 1
        self.stats.calls += 1
        try:
            response = self._http.post(
                self.url(LOGOUT_PATH),
                json={"token": token, "deviceName": self.device_name},
                headers=self._auth_headers(token),
                timeout=self._timeout,
            )
            if response.status_code not in (200, STATUS_INVALID_TOKEN):
                log.warning(
                    "AIS logout answered HTTP %s: %s",
                    response.status_code,
                    self._scrub(ais_message(response.content), token),
                )
        except requests.RequestException as exc:
            log.warning("AIS logout failed: %s", self._scrub(f"{type(exc).__name__}: {exc}", token))
        finally:
            self._http.cookies.clear()

    def close(self) -> None:
        """Log out if needed and release the connection pool."""
        self.logout()
        self._http.close()

    # --- calls -----------------------------------------------------------------------------------------

    def data_call(
        self, url: str, body: dict[str, Any] | None, *, table: str, retry: bool = True
    ) -> dict[str, Any]:
        """One authenticated data-service call (the token is added to body and headers).

        `retry=False` turns a transient failure into `AisServerError` at once: the pager then resumes by
        key instead of re-posting a next-page link whose server-side position may already have moved.
        Raises `TokenRejected` on 444/403 and `ResultSetExpired` on JAS_MSG347; the caller recovers.
        """
        if self._token is None:
            raise AisAuthError("no AIS token: log in first")
        payload = {**(body or {}), "token": self._token, "deviceName": self.device_name}
        self.stats.data_calls += 1
        return self._call(url, payload, what="data request", table=table, retry=retry)

    def _auth_headers(self, token: str | None) -> dict[str, str]:
        headers = {"jde-AIS-Auth-Device": self.device_name}
        if token:
            headers["jde-AIS-Auth"] = token
        return headers

    def _scrub(self, text: str, *extra: str | None) -> str:
        return scrub(text, (self._password, self._token, *extra))

    def _call(
        self,
        url: str,
        body: dict[str, Any],
        *,
        what: str,
        table: str | None,
        retry: bool = True,
    ) -> dict[str, Any]:
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retry.max_attempts if retry else 1),
            wait=tenacity.wait_random_exponential(
                multiplier=self._retry.initial_wait, max=self._retry.max_wait
            ),
            retry=tenacity.retry_if_exception_type(_TransientError),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, body, what=what, table=table)
        except _TransientError as exc:
            where = f" on table {table}" if table else ""
            attempts = self._retry.max_attempts if retry else 1
            raise AisServerError(
                f"AIS {what}{where} failed after {attempts} attempt(s): {exc.detail}",
                status=exc.status,
                table=table,
            ) from None

    def _count_retry(self, state: tenacity.RetryCallState) -> None:
        self.stats.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.info("retrying AIS call after %s (attempt %d)", getattr(exc, "detail", exc), state.attempt_number)

    def _attempt(self, url: str, body: dict[str, Any], *, what: str, table: str | None) -> dict[str, Any]:
        self.stats.calls += 1
        self._last_error, self._last_status = "", None
        try:
            with AIS_WAIT.waiting():
                response = self._http.post(
                    url, json=body, headers=self._auth_headers(self._token), timeout=self._timeout
                )
        except requests.exceptions.SSLError as exc:  # a certificate refused now is refused on every retry
            where = f" on table {table}" if table else ""
            raise AisServerError(
                f"AIS {what}{where} failed, TLS refused (not retried): {self._scrub(_without_query(exc))}",
                table=table,
            ) from None
        except requests.RequestException as exc:
            raise _TransientError(self._scrub(f"{type(exc).__name__}: {_without_query(exc)}"), None) from None
        status = response.status_code
        if status == 200:
            where = f" on table {table}" if table else ""
            try:
                doc = response.json()
            except ValueError as exc:  # truncated JSON, an HTML page from a proxy, …
                body_text = self._scrub(response.content.decode("utf-8", "replace"))
                raise AisProtocolError(
                    f"AIS {what}{where} answered 200 with a body that is not JSON "
                    f"({_json_problem(exc)}; Content-Type {response.headers.get('Content-Type') or 'none'}, "
                    f"{len(response.content)} bytes): {_preview(body_text)}",
                    status=status,
                    table=table,
                ) from None
            if not isinstance(doc, dict):
                raise AisProtocolError(
                    f"AIS {what}{where} answered 200 with JSON that is not an object but "
                    f"{type(doc).__name__}",
                    status=status,
                    table=table,
                )
            return doc
        # scrubbed before ais_message cuts it short: a cut must not leave half a secret behind
        message = ais_message(self._scrub(response.content.decode("utf-8", "replace")))
        self._last_error, self._last_status = f"HTTP {status}: {message}", status
        if status in (STATUS_INVALID_TOKEN, 403):  # a refused login, or a token no longer valid
            raise TokenRejected(message, status)
        if status == 500 and "JAS_MSG347" in message:
            raise ResultSetExpired(message)
        if status >= 500:
            raise _TransientError(f"HTTP {status}: {message}", status)
        where = f" on table {table}" if table else ""
        raise AisRequestError(
            f"AIS {what}{where} was rejected: HTTP {status}: {message}", status=status, table=table
        )


def _json_problem(exc: ValueError) -> str:
    """Where the JSON broke, in words (`Expecting ',' delimiter at line 1 column 40`), never the type name."""
    message = getattr(exc, "msg", None)
    if message and hasattr(exc, "lineno"):
        return f"{message} at line {exc.lineno} column {exc.colno}"  # type: ignore[attr-defined]
    return "it cannot be decoded"


def _preview(body: str) -> str:
    """The start of a body (already scrubbed: a cut must not leave half a token) for an error message."""
    return " ".join(body[: _PREVIEW_CHARS * 4].split())[:_PREVIEW_CHARS] or "(empty)"


_PREVIEW_CHARS = 160


def _without_query(exc: requests.RequestException) -> str:
    """The exception text with URL query strings cut off (a next-page URL can hold tokens)."""
    text = str(exc)
    request = getattr(exc, "request", None)
    if request is not None and request.url and "?" in request.url:
        text = text.replace(request.url, request.url.split("?", 1)[0])
        path_and_query = request.path_url
        text = text.replace(path_and_query, path_and_query.split("?", 1)[0])
    return text


def _date_pattern(user_info: dict[str, Any]) -> str | None:
    """The user's date format for condition literals: `simpleDateFormat`, else derived from `dateFormat`."""
    pattern = user_info.get("simpleDateFormat")
    if isinstance(pattern, str) and pattern.strip():
        return pattern.strip()
    code = user_info.get("dateFormat")
    if isinstance(code, str) and code.strip():
        return simple_date_format_from_jde(code, str(user_info.get("dateSeperator") or "/"))
    return None

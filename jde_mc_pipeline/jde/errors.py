"""What can go wrong when talking to AIS, as exceptions that say what failed without leaking secrets.

Every message names the HTTP status, AIS's own message and the table, because "HTTP 400" alone sends the
user hunting. None of them may contain the password or a token (docs/configuration.md): `scrub` removes both,
raw and URL-encoded, from any text taken from a server answer or a library exception, and the client
raises these exceptions `from None` so that the original (whose text can hold a next-page URL with the
token in its query) is not chained into tracebacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

_MAX_DETAIL = 300


class AisError(Exception):
    """Base of every AIS failure: `status` is the HTTP status (None when there was no answer)."""

    def __init__(self, message: str, *, status: int | None = None, table: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.table = table


class AisAuthError(AisError):
    """AIS refused the credentials, or a fresh token was refused again right after re-authenticating."""


class AisRequestError(AisError):
    """A 4xx answer other than 444: the request itself is wrong, so it fails at once without retries."""


class AisServerError(AisError):
    """5xx answers or network failures that outlasted the bounded retries."""


class AisProtocolError(AisError):
    """An answer that does not have the documented shape (no token, no `fs_DATABROWSE_` envelope, …)."""


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (and its URL-encoded forms) replaced by `***`."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, "***")
    return text


def ais_message(body: bytes | str) -> str:
    """AIS's own explanation from an error body: `message`, `errorText`, `sysErrors[].TITLE`, …

    The error body has several documented forms (ServiceErrorResponse, `sysErrors`, Celin's
    `errorDetails`); whichever fields are present are joined. A body that is not JSON is quoted, cut short.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:_MAX_DETAIL]
    if not isinstance(doc, dict):
        return text.strip()[:_MAX_DETAIL]
    parts = [
        str(doc[field])
        for field in ("message", "errorText", "userDefinedErrorText", "exceptionId")
        if doc.get(field) not in (None, "")
    ]
    for error in doc.get("sysErrors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("TITLE") or error.get("DESC") or ""))
    details = doc.get("errorDetails")
    if isinstance(details, dict):
        parts.extend(str(e) for e in details.get("errors") or [])
    joined = "; ".join(p for p in parts if p)
    return (joined or text.strip())[:_MAX_DETAIL]

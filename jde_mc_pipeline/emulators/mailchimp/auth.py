"""Who is calling: HTTP Basic (any user name, the key as password), Bearer, or the legacy `?apikey=`.

Mailchimp routes by data center (`us21.api.mailchimp.com`); the emulator puts the data center in the
first path segment instead (`/us21/3.0/...`). A key whose `-dc` suffix differs from the URL's data
center is refused exactly like a wrong key: 401 `API Key Invalid` ("... or you've attempted to access
the wrong datacenter.").

Decisions: a request with no credentials gets 401 "API Key Missing" (title [unconfirmed]). When both the
header and `?apikey=` are present and differ, the 2021-02 changelog's 401 is sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from jde_mc_pipeline.emulators.http import Request
from jde_mc_pipeline.emulators.mailchimp import errors


def presented_key(request: Request) -> str | None:
    """The credential the request carries, or None; raises ApiError when header and query disagree."""
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.strip().partition(" ")
    from_header: str | None = None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.api_key_invalid() from None
        from_header = decoded.partition(":")[2]
    elif scheme.lower() in ("bearer", "oauth"):
        from_header = value.strip()
    elif header:
        raise errors.api_key_invalid()
    from_query = request.query_value("apikey")
    if from_header and from_query and from_header != from_query:
        raise errors.api_key_conflict()
    return from_header or from_query


def authenticate(request: Request, url_dc: str, api_key: str) -> str:
    """Return the accepted key, or raise 401 for a missing, wrong or other-data-center key."""
    key = presented_key(request)
    if not key:
        raise errors.api_key_missing()
    key_dc = key.rpartition("-")[2] if "-" in key else ""
    if not hmac.compare_digest(key.encode(), api_key.encode()) or key_dc != url_dc:
        raise errors.api_key_invalid()
    return key

"""What to say about an error answer that is not Mailchimp's: an HTML page or an empty body.

Mailchimp's own errors are JSON problem documents, but the CDN in front of it answers 429 and 403
under load without one (documented: docs/mailchimp.md, "Limits and retries"), and a proxy may answer
an outage with its stock HTML page (`503 Service Temporarily Unavailable`, Akamai's `Access Denied`).
The client retries those as transient; when the retries run out, the reason shown in a result or an
exception must say plainly what came back, not quote a page of markup nor fail on parsing it.
"""

from __future__ import annotations

import html
import re

_TITLE = re.compile(r"<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
SOURCE = "not a Mailchimp problem document: a gateway, CDN or storage server answered"


def describe_foreign_body(body: str | bytes | None) -> str:
    """One line on a non-JSON error body: its page title, else its first words, and where it came from."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        return f"an empty body ({SOURCE})"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = _TITLE.search(text)
    if found:
        title = _plain(found.group(1) or found.group(2))
        return f"an HTML page titled {title!r} ({SOURCE})"
    return f"a non-JSON body {_plain(text)[:120]!r} ({SOURCE})"


def _plain(markup: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", markup))).strip()

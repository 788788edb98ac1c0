"""Answers from the gateway in front of Mailchimp rather than from the API: the fault kinds `html_429`,
`html_503`, `html_403` and `bare_403` (limits.py).

Mailchimp documents that under load 429 and 403 may come without a JSON body, from its CDN
(https://mailchimp.com/developer/marketing/docs/fundamentals/, docs/mailchimp.md "Limits and retries"),
and any proxy in between answers an overload or an outage with its own HTML page. A client that parses
every error body as a problem document crashes on these, or reports a page of markup as the reason.
So the emulator can send them, nothing executed:
- `html_429`: an nginx-style "429 Too Many Requests" page (`text/html`);
- `html_503`: an nginx-style "503 Service Temporarily Unavailable" page (`text/html`);
- `html_403`: an Akamai-style "Access Denied" page (`text/html`, `Server: AkamaiGHost`), the CDN's block
  page under load;
- `bare_403`: a 403 with an empty body and no content type.
[unconfirmed] the exact markup: these pages follow the servers' stock error pages, not a recording of
Mailchimp's edge.
"""

from __future__ import annotations

import uuid

from jde_mc_pipeline.emulators.http import Response

GATEWAY_KINDS = ("html_429", "html_503", "html_403", "bare_403")
HTML = "text/html"

_NGINX = (
    "<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_AKAMAI = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \n"
    'You don\'t have permission to access "{path}" on this server.<P>\n'
    "Reference&#32;&#35;{reference}\n</BODY>\n</HTML>\n"
)


def gateway_response(kind: str, path: str) -> Response:
    """The gateway's answer for fault `kind` to a request for `path`."""
    if kind == "html_429":
        return Response(429, _NGINX.format(status="429 Too Many Requests").encode(), HTML)
    if kind == "html_503":
        return Response(503, _NGINX.format(status="503 Service Temporarily Unavailable").encode(), HTML)
    if kind == "html_403":
        page = _AKAMAI.format(path=path, reference=f"18.{uuid.uuid4().hex[:8]}")
        return Response(403, page.encode(), HTML, {"Server": "AkamaiGHost"})
    if kind == "bare_403":
        return Response(403, b"", None)
    raise ValueError(f"not a gateway fault kind: {kind}")

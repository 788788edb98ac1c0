"""Malformed AIS answers over real HTTP: the client fails with a message naming the table and the fault.

The AIS emulator answers only well-formed bodies, so a tiny `http.server` on 127.0.0.1 plays AIS here:
`tokenrequest` answers as AIS does, `dataservice` answers the malformed body under test. What a proxy,
a half-dead AIS node or a truncated connection sends must become an `AisError` whose message a user can
act on (the table, what was wrong), never a raw JSONDecodeError/KeyError/AttributeError, and never hold
the password or the token (the HTML pages here echo both back, as some error pages echo the request).
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest

from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.errors import AisError, AisProtocolError, AisServerError
from jde_mc_pipeline.jde.session import RetryPolicy

PASSWORD = "pa+ss/w=rd 42"
TOKEN = "044abcDEF+token/with=specials=="
SECRETS = [
    form for secret in (PASSWORD, TOKEN) for form in {secret, quote(secret, safe=""), quote_plus(secret)}
]
ECHO = f"<p>request: token={TOKEN} password={PASSWORD}</p>"
HTML_PAGE = f"<html><head><title>Proxy Error</title></head><body><h1>Bad Gateway</h1>{ECHO}</body></html>"


@dataclass
class Answer:
    """What the fake AIS answers to every data-service call."""

    status: int
    body: bytes
    content_type: str = "application/json"
    declared_length: int | None = None  # a Content-Length larger than the body: the connection ends early


class FakeAis(ThreadingHTTPServer):
    answer: Answer
    data_calls: int = 0


class Handler(BaseHTTPRequestHandler):
    server: FakeAis

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is the assertions."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/tokenrequest"):
            body = {"userInfo": {"token": TOKEN, "simpleDateFormat": "MM/dd/yyyy"}, "username": "JDE"}
            self._send(Answer(200, json.dumps(body).encode()))
        elif self.path.endswith("/logout"):
            self._send(Answer(200, b"{}"))
        else:
            self.server.data_calls += 1
            self._send(self.server.answer)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(answer.declared_length or len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)
        if answer.declared_length:
            self.close_connection = True


@pytest.fixture
def fake_ais() -> Iterator[FakeAis]:
    server = FakeAis(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def browse_error(server: FakeAis, answer: Answer) -> AisError:
    """The error of reading F0101 from `server` answering `answer`, checked for what every case needs."""
    server.answer = answer
    url = f"http://127.0.0.1:{server.server_address[1]}"
    retry = RetryPolicy(max_attempts=2, initial_wait=0.001, max_wait=0.01)
    client = AisClient(url, "JDE", PASSWORD, environment="JDV920", retry=retry, read_timeout=5.0)
    with pytest.raises(AisError) as raised, client:
        client.browse("F0101")
    client.close()
    error = raised.value
    text = "".join(traceback.format_exception(error))
    assert error.table == "F0101"
    assert "F0101" in str(error)
    for raw in (
        "JSONDecodeError",
        "KeyError",
        "AttributeError",
        "TypeError",
        "Traceback (most recent call last)\n  File",
    ):
        assert raw not in str(error)
    assert "JSONDecodeError" not in text and "KeyError" not in text  # nothing chained into the traceback
    for secret in SECRETS:
        assert secret not in text, secret
    return error


def grid(rowset: object = None, **envelope: object) -> bytes:
    """A BROWSE answer for F0101 with this rowset (or this envelope content instead)."""
    content = envelope or {
        "data": {"gridData": {"rowset": rowset, "summary": {"records": 1, "moreRecords": False}}}
    }
    return json.dumps({"fs_DATABROWSE_F0101": content}).encode()


ROW = {"F0101_AN8": 1001, "F0101_ALPH": "Party 01"}


def test_truncated_json_names_the_table_and_where_the_json_broke(fake_ais: FakeAis) -> None:
    body = grid([ROW])[:45]
    error = browse_error(fake_ais, Answer(200, body))
    assert isinstance(error, AisProtocolError) and error.status == 200
    assert "AIS data request on table F0101 answered 200 with a body that is not JSON" in str(error)
    assert "at line 1 column" in str(error) and "45 bytes" in str(error)
    assert body.decode() in str(error)  # the start of what came: enough to recognise it


def test_a_connection_that_ends_mid_body_is_retried_then_named(fake_ais: FakeAis) -> None:
    body = grid([ROW])
    error = browse_error(fake_ais, Answer(200, body[:30], declared_length=len(body)))
    assert isinstance(error, AisServerError)
    assert str(error).startswith("AIS data request on table F0101 failed after 2 attempt(s): ")
    assert fake_ais.data_calls == 2


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        (json.dumps({"fs_DATABROWSE_F0115": json.loads(grid([ROW]))["fs_DATABROWSE_F0101"]}).encode(),
         "has no fs_DATABROWSE_F0101.data.gridData (keys: ['fs_DATABROWSE_F0115'])"),
        (json.dumps({"ServiceRequest1": {}}).encode(), "has no fs_DATABROWSE_F0101.data.gridData"),
        (grid(data={"gridData": {"summary": {"records": 0}}}),
         "has no rowset in fs_DATABROWSE_F0101.data.gridData"),
        (grid(data={"rowset": [ROW]}), "has no fs_DATABROWSE_F0101.data.gridData"),
        (grid(data="not an object"), "has no fs_DATABROWSE_F0101.data.gridData"),
        (grid([[1001, "Party 01"]]), "has a rowset that is not a list of rows"),
        (grid({"F0101_AN8": 1001}), "has a rowset that is not a list of rows"),
        (b"[1, 2, 3]", "answered 200 with JSON that is not an object but list"),
    ],
    ids=["other-table", "no-envelope", "no-rowset", "no-griddata", "data-not-object", "rows-not-objects",
         "rowset-not-list", "json-list"],
)  # fmt: skip
def test_a_wrong_envelope_is_a_protocol_error_saying_what_is_missing(
    fake_ais: FakeAis, body: bytes, wrong: str
) -> None:
    """Before the fix, another table's envelope was read as this one's (rows without keys), a grid without
    its rowset read as an empty table, and rows that were not objects raised a raw AttributeError."""
    error = browse_error(fake_ais, Answer(200, body))
    assert isinstance(error, AisProtocolError)
    assert wrong in str(error)
    assert fake_ais.data_calls == 1  # a malformed answer is not transient: no retry


def test_a_summary_or_links_of_the_wrong_shape_do_not_crash(fake_ais: FakeAis) -> None:
    """Only the rowset is essential; a summary that is a string or links that are an object read as absent."""
    fake_ais.answer = Answer(
        200,
        json.dumps(
            {"fs_DATABROWSE_F0101": {"data": {"gridData": {"rowset": [ROW], "summary": "?"}}}, "links": {}}
        ).encode(),
    )
    url = f"http://127.0.0.1:{fake_ais.server_address[1]}"
    with AisClient(url, "JDE", PASSWORD, environment="JDV920") as client:
        frame = client.browse("F0101")
    assert list(frame["AN8"]) == [1001] and list(frame["ALPH"]) == ["Party 01"]


def test_an_html_page_with_status_200_is_named_as_not_json(fake_ais: FakeAis) -> None:
    error = browse_error(fake_ais, Answer(200, HTML_PAGE.encode(), content_type="text/html"))
    assert isinstance(error, AisProtocolError)
    message = str(error)
    assert message.startswith("AIS data request on table F0101 answered 200 with a body that is not JSON (")
    assert "Content-Type text/html" in message and "<title>Proxy Error</title>" in message
    assert "token=***" in message  # the echoed token is scrubbed, not cut in half
    assert fake_ais.data_calls == 1


def test_an_html_page_with_status_500_is_retried_then_named(fake_ais: FakeAis) -> None:
    error = browse_error(fake_ais, Answer(500, HTML_PAGE.encode(), content_type="text/html"))
    assert isinstance(error, AisServerError) and error.status == 500
    message = str(error)
    assert message.startswith("AIS data request on table F0101 failed after 2 attempt(s): HTTP 500: <html>")
    assert "Bad Gateway" in message and "password=***" in message
    assert fake_ais.data_calls == 2


def test_a_secret_straddling_the_cut_of_a_long_error_page_is_not_half_leaked(fake_ais: FakeAis) -> None:
    """AIS's message is cut to 300 characters; scrubbing after the cut would leave the token's first half."""
    page = "x" * 290 + f" token={TOKEN} and more"
    error = browse_error(fake_ais, Answer(500, page.encode(), content_type="text/plain"))
    assert TOKEN[:8] not in str(error)

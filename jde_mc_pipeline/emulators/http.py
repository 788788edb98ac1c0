"""The HTTP transport both emulators run on.

Why the standard library's threaded server and not an ASGI framework: the emulators must misbehave the
way real services and networks do, and some of that lives below HTTP. A connection reset (TCP RST in
the middle of a request) needs the raw socket, and an answer slower than the client's timeout needs a
thread that can simply sleep. One thread per connection also makes "simultaneous connections" a thing
the Mailchimp emulator can count exactly. Routing is a plain function from `Request` to `Response`, so
each emulator's behaviour stays testable without a socket.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


class DropConnection(Exception):  # noqa: N818 - it is an instruction, not an error
    """Raised by an app to reset the connection without answering (an abortive close, TCP RST)."""


@dataclass
class Request:
    """One HTTP request as an emulator app sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    client: str = "127.0.0.1"

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError on an empty or malformed body."""
        if not self.body:
            raise ValueError("empty body")
        return json.loads(self.body)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """One HTTP answer. `body` is sent as is; use `Response.json` for JSON documents."""

    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        status: int,
        document: Any,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A JSON answer; non-ASCII text is sent as UTF-8, as both real services do.

        Encoded by orjson: the standard library's encoder was two thirds of the AIS emulator's CPU in the
        100,000-party benchmark, taken from the pipeline on the same cores. Same bytes as the standard
        library's compact form; an integer beyond 64 bits (a hostile JDE value, served as it is), which
        orjson refuses, goes through the standard library. Not the connector's `fast_json`: the emulators
        share no code with the client they test (test_layout.py).
        """
        try:
            body = orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, f"{content_type}; charset=utf-8", dict(headers or {}))


App = Callable[[Request], Response]

# Reason phrases for the non-standard codes the emulators send (AIS answers 444 for an invalid token).
_EXTRA_REASONS = {444: "Invalid Token", 445: "SSO Failed", 446: "SSO Not Enabled"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as pooled clients expect
    # Headers and body leave in two writes; with Nagle on, the second waits for the client's delayed
    # ACK (~40 ms per call on a keep-alive connection). Real servers send without that stall.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging: tests and benchmarks make hundreds of thousands of calls."""

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            client=self.client_address[0],
        )
        try:
            response = self.server.app(request)
        except DropConnection:
            self._reset()
            return
        reason = _EXTRA_REASONS.get(response.status)
        self.send_response(response.status, reason)
        if response.content_type and response.body:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    def _reset(self) -> None:
        """Close with SO_LINGER 0 so the peer sees a connection reset, not a clean end of stream."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (reset, broken pipe: a killed run, a client's timeout) is
        no error of the service, as on a real one; anything else is printed as the standard server does."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class EmulatorServer:
    """An app served on 127.0.0.1, either in a background thread (tests) or in the foreground (CLI)."""

    def __init__(self, app: App, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, port), app)
        self._thread: threading.Thread | None = None
        self.host, self.port = self._server.server_address[:2]

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread and return at once."""
        # A short poll interval makes stop() return in ~50 ms instead of 0.5 s (tests start many servers).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

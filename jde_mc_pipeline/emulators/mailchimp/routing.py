"""Route templates → handlers, and what a handler sees (`Call`) and returns (`Reply`).

Route templates are written as in the spec (`/lists/{list_id}/members/{subscriber_hash}`) and double as
the endpoint names of `/_emulator/stats`. The same router serves direct HTTP calls and the operations
of `/batches`, so a batched operation meets exactly the rules a direct call meets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.context import AppContext

MAX_COUNT = 1000


@dataclass
class Reply:
    """A handler's answer: a status and a JSON document (None for an empty 204)."""

    status: int
    document: Any = None


@dataclass
class Call:
    """One API operation: path parameters, query, raw body, and the emulator it runs in."""

    method: str
    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    app: AppContext

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; 400 `JSON Parse Exception` / `Invalid Resource` otherwise."""
        try:
            document = json.loads(self.body) if self.body.strip() else None
        except ValueError:
            raise errors.json_parse_error() from None
        if not isinstance(document, dict):
            found = "NULL" if document is None else _json_kind(document)
            raise errors.schema_error(
                [{"field": "", "message": f"Schema describes object, {found} found instead"}]
            )
        return document

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def flag(self, name: str) -> bool:
        """Boolean query parameters: `true`/`1` (any case) is true, anything else false (2021-03-02)."""
        return (self.query_value(name) or "").strip().lower() in ("true", "1")

    def paging(self) -> tuple[int, int]:
        """`count` (default 10, silently capped at 1000) and `offset` (default 0)."""
        return self._int("count", 10, MAX_COUNT), self._int("offset", 0, None)

    def _int(self, name: str, default: int, cap: int | None) -> int:
        text = self.query_value(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise errors.schema_error([{"field": name, "message": "Value must be an integer"}]) from None
        if value < 0:
            raise errors.schema_error([{"field": name, "message": "Value must not be negative"}])
        return min(value, cap) if cap is not None else value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "number"


Handler = Callable[[Call], Reply]


def _depth(path: str) -> int:
    return path.strip("/").count("/")


@dataclass
class Route:
    template: str
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]


class Router:
    """Matches `METHOD /path` (relative to `/3.0`) to a handler; 404 / 405 with `Allow` otherwise."""

    def __init__(self) -> None:
        self._routes: dict[int, list[Route]] = {}  # by number of path segments, to try few patterns

    def add(self, method: str, template: str, handler: Handler) -> None:
        candidates = self._routes.setdefault(_depth(template), [])
        for route in candidates:
            if route.template == template:
                route.handlers[method] = handler
                return
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        candidates.append(Route(template, re.compile(f"^{regex}/?$"), {method: handler}))

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]]:
        """(endpoint name, handler, path parameters); raises ApiError 404/405."""
        for route in self._routes.get(_depth(path), []):
            found = route.pattern.match(path)
            if found is None:
                continue
            handler = route.handlers.get(method)
            if handler is None:
                raise errors.method_not_allowed(sorted(route.handlers))
            params = {name: unquote(value) for name, value in found.groupdict().items()}
            return f"{method} {route.template}", handler, params
        raise errors.not_found()

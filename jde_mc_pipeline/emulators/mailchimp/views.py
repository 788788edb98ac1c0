"""Shared pieces of response documents: `_links`, lookups that 404, collection paging.

Mailchimp puts `_links` (rel, href, method, targetSchema?) on every resource and collection. The emulator
writes the ones a client might follow (self, parent, update/upsert/delete) with hrefs on its own base URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Any, TypeVar

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.routing import Call
from jde_mc_pipeline.emulators.mailchimp.state import Audience, Store

T = TypeVar("T")


def links(call: Call, path: str, *rels: tuple[str, str, str]) -> list[dict[str, str]]:
    """`_links` entries `(rel, method, sub-path)`; the sub-path is appended to `path` ('' for itself)."""
    href = call.app.api_base + path
    return [{"rel": rel, "href": href + sub if sub else href, "method": method} for rel, method, sub in rels]


def page(items: Iterable[T], count: int, offset: int) -> list[T]:
    """One page of an iteration, without materialising what lies before or after it."""
    return list(islice(iter(items), offset, offset + count))


def audience_of(call: Call) -> Audience:
    audience = call.app.state.lists.get(call.params["list_id"])
    if audience is None:
        raise errors.not_found()
    return audience


def store_of(call: Call) -> Store:
    store = call.app.state.stores.get(call.params["store_id"])
    if store is None:
        raise errors.not_found()
    return store


def require_fields(body: dict[str, Any], names: Iterable[str]) -> None:
    """400 `Invalid Resource` listing required fields that are absent or null."""
    missing = [name for name in names if body.get(name) is None]
    if missing:
        raise errors.schema_error(
            [{"field": "", "message": f"Required fields were not provided: {', '.join(missing)}"}]
        )


def check_types(body: dict[str, Any], expected: dict[str, type | tuple[type, ...]]) -> None:
    """400 `Invalid Resource` for a present field of the wrong JSON type."""
    problems = []
    for name, value in body.items():
        kind = expected.get(name)
        if kind is None or value is None or value.__class__ is kind:  # the usual case: exactly right
            continue
        is_bool = isinstance(value, bool)
        wants_bool = kind is bool or (isinstance(kind, tuple) and bool in kind)
        if not isinstance(value, kind) or (is_bool and not wants_bool):
            problems.append(
                {
                    "field": name,
                    "message": f"Schema describes {_describe(kind)}, {_found(value)} found instead",
                }
            )
    if problems:
        raise errors.schema_error(problems)


def check_enum(body: dict[str, Any], name: str, allowed: Iterable[str]) -> None:
    value = body.get(name)
    if value is not None and value not in tuple(allowed):
        raise errors.schema_error([{"field": name, "message": "Value is not one of enum list"}])


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number", dict: "object", list: "array"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _found(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return "array" if isinstance(value, list) else "object"

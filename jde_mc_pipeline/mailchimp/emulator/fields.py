"""`fields` / `exclude_fields`: comma-separated, dot notation for nested members (reference §2).

Applied to every JSON answer, through arrays (`members.email_address` keeps that member of each member).
[unconfirmed] Unknown names are ignored rather than refused, and when both parameters are given
`fields` wins; Mailchimp's status for those cases is not on record.
"""

from __future__ import annotations

from typing import Any

Paths = list[tuple[str, ...]]


def select_fields(document: Any, query: dict[str, list[str]]) -> Any:
    """The document cut down as the query's `fields` / `exclude_fields` ask."""
    included = _paths(query.get("fields"))
    if included:
        return _include(document, included)
    excluded = _paths(query.get("exclude_fields"))
    if excluded:
        return _exclude(document, excluded)
    return document


def wanted_keys(query: dict[str, list[str]], member: str) -> frozenset[str] | None:
    """Which keys of the objects under `member` the answer will keep: None for all of them.

    Lets a handler skip building what `fields` is about to cut away (an empty set: nothing at all).
    """
    included = _paths(query.get("fields"))
    if not included:
        return None
    below = [p[1:] for p in included if p[0] == member]
    if any(not rest for rest in below):
        return None
    return frozenset(rest[0] for rest in below)


def _paths(values: list[str] | None) -> Paths:
    if not values:
        return []
    return [
        tuple(part for part in name.strip().split("."))
        for v in values
        for name in v.split(",")
        if name.strip()
    ]


def _include(document: Any, paths: Paths) -> Any:
    if isinstance(document, list):
        return [_include(item, paths) for item in document]
    if not isinstance(document, dict):
        return document
    kept: dict[str, Any] = {}
    for key, value in document.items():
        rest = [p[1:] for p in paths if p[0] == key]
        if not rest:
            continue
        kept[key] = value if any(not r for r in rest) else _include(value, rest)
    return kept


def _exclude(document: Any, paths: Paths) -> Any:
    if isinstance(document, list):
        return [_exclude(item, paths) for item in document]
    if not isinstance(document, dict):
        return document
    kept: dict[str, Any] = {}
    for key, value in document.items():
        rest = [p[1:] for p in paths if p[0] == key]
        if any(not r for r in rest):
            continue
        kept[key] = _exclude(value, rest) if rest else value
    return kept

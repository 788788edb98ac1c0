"""`fields` / `exclude_fields`: comma-separated, dot notation for nested members (Mailchimp's
methods and parameters guide, partial responses:
https://mailchimp.com/developer/marketing/docs/methods-parameters/#partial-responses).

Applied to every JSON answer, through arrays (`members.email_address` keeps that member of each member).

Unknown names are ignored, not refused, because that is what Mailchimp does (reported, several times, by
integrators whose misspelt or unprefixed names came back as a 200 without the data they wanted and no
error: https://github.com/thorning/node-mailchimp/issues/47 (`exclude_fields=contact` on `/lists`
excluded nothing), https://github.com/mailchimp/mailchimp-client-lib-codegen/issues/135
(`fields=email_address` on a member list: an empty answer),
https://github.com/mailchimp/mailchimp-client-lib-codegen/issues/170 (a name with a stray quote
silently dropped), https://github.com/brandonseydel/MailChimp.Net/issues/192). Refusing them would be
a behaviour Mailchimp does not have: a client could come to rely on a 400 that never comes (to fall back
to a full read, say). Since an ignored name is a client bug that only shows as missing data, the emulator
also *records* every name that matched nothing in the answer (`UnknownFieldLog`, shown as `unknown_fields`
in `GET /_emulator/stats`), so tests can assert the client never sends one. A name is judged against the
answer itself: one under an empty array cannot be judged and counts as known.

[unconfirmed] when both parameters are given `fields` wins; Mailchimp's behaviour there is only partly
reported ("seem to be mutually exclusive": https://github.com/mailchimp/mailchimp-client-lib-codegen/issues/67).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

Paths = list[tuple[str, ...]]


def select_fields(document: Any, query: dict[str, list[str]]) -> Any:
    """The document cut down as the query's `fields` / `exclude_fields` ask."""
    included = query.get("fields")
    if included and _paths(tuple(included)):
        return _include(document, _tree_of(tuple(included)))
    excluded = query.get("exclude_fields")
    if excluded and _paths(tuple(excluded)):
        return _exclude(document, _tree_of(tuple(excluded)))
    return document


def wanted_keys(query: dict[str, list[str]], member: str) -> frozenset[str] | None:
    """Which keys of the objects under `member` the answer will keep: None for all of them.

    Lets a handler skip building what `fields` is about to cut away (an empty set: nothing at all).
    """
    included = _paths(tuple(query.get("fields") or ()))
    if not included:
        return None
    below = [p[1:] for p in included if p[0] == member]
    if any(not rest for rest in below):
        return None
    return frozenset(rest[0] for rest in below)


@lru_cache(maxsize=256)  # a batch repeats one query thousands of times: parse it once
def _paths(values: tuple[str, ...]) -> Paths:
    return [
        tuple(part for part in name.strip().split("."))
        for v in values
        for name in v.split(",")
        if name.strip()
    ]


# The paths as a tree, built once per request rather than regrouped for every object of every array:
# key -> None when a path ends at that key (the whole value), else the tree of the paths below it.
Tree = dict[str, "Tree | None"]


@lru_cache(maxsize=256)
def _tree_of(values: tuple[str, ...]) -> Tree:
    return _tree(_paths(values))


def _tree(paths: Paths) -> Tree:
    below: dict[str, Paths] = {}
    whole: set[str] = set()
    for path in paths:
        if len(path) == 1:
            whole.add(path[0])
        below.setdefault(path[0], []).append(path[1:])
    return {key: None if key in whole else _tree(rest) for key, rest in below.items()}


def _include(document: Any, tree: Tree) -> Any:
    if isinstance(document, list):
        return [_include(item, tree) for item in document]
    if not isinstance(document, dict):
        return document
    kept: dict[str, Any] = {}
    for key, value in document.items():
        if key in tree:
            subtree = tree[key]
            kept[key] = value if subtree is None else _include(value, subtree)
    return kept


def _exclude(document: Any, tree: Tree) -> Any:
    if isinstance(document, list):
        return [_exclude(item, tree) for item in document]
    if not isinstance(document, dict):
        return document
    kept: dict[str, Any] = {}
    for key, value in document.items():
        if key not in tree:
            kept[key] = value
            continue
        subtree = tree[key]
        if subtree is not None:
            kept[key] = _exclude(value, subtree)
    return kept


def unknown_names(document: Any, query: dict[str, list[str]]) -> list[str]:
    """The `fields` / `exclude_fields` names of the query that match nothing in `document` (in order)."""
    found: list[str] = []
    for name in ("fields", "exclude_fields"):
        values = query.get(name)
        if values:
            found.extend(".".join(p) for p in _paths(tuple(values)) if not _resolves(document, p))
    return found


def _resolves(value: Any, path: tuple[str, ...]) -> bool:
    """Whether `path` names something in `value`; through an array, in any of its objects."""
    if not path:
        return True
    if isinstance(value, list):
        if not value:
            return True  # nothing to judge the name by
        return any(isinstance(item, dict) and _resolves(item, path) for item in value)
    return isinstance(value, dict) and path[0] in value and _resolves(value[path[0]], path[1:])


class UnknownFieldLog:
    """Names that matched nothing, by endpoint (`GET /lists/{list_id}` → sorted names)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._names: dict[str, set[str]] = {}

    def record(self, endpoint: str, names: list[str]) -> None:
        with self._lock:
            self._names.setdefault(endpoint, set()).update(names)

    def snapshot(self) -> dict[str, list[str]]:
        with self._lock:
            return {endpoint: sorted(names) for endpoint, names in sorted(self._names.items())}

    def clear(self) -> None:
        with self._lock:
            self._names.clear()

"""`fields` / `exclude_fields`: comma-separated, dot notation for nested members (Mailchimp's
API fundamentals, partial responses: https://mailchimp.com/developer/marketing/docs/fundamentals/).

Applied to every JSON answer, through arrays (`members.email_address` keeps that member of each member).
[unconfirmed] Unknown names are ignored rather than refused, and when both parameters are given
`fields` wins; Mailchimp's status for those cases is not on record.
"""

from __future__ import annotations

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

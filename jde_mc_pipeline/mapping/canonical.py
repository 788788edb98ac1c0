"""Canonical JSON built column-wise: the payload text that is hashed, stored and sent.

`json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` per row would cost a
Python call per party and key. Here the same text is assembled with numpy string concatenation over
whole columns: keys in sorted order, a field left out where its mask is False. Only strings that need
escaping (quotes, backslashes, control characters) go through `json.dumps`, one by one. A property test
holds the result equal to `json.dumps` of the row's dict, so the hash is the canonical-JSON hash.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_SEPARATOR = "\uffff"  # a noncharacter: never escaped by JSON, never in JDE text


def _rows_needing_escape(values: np.ndarray) -> np.ndarray:
    """Row numbers of the strings JSON must escape: one regex scan over all of them joined."""
    text = _SEPARATOR.join(values)
    found = [match.start() for match in _NEEDS_ESCAPE.finditer(text)]
    if not found:
        return np.empty(0, dtype=np.int64)
    starts = np.cumsum(np.fromiter(map(len, values), dtype=np.int64, count=len(values)) + 1) - 1
    return np.unique(np.searchsorted(starts, np.asarray(found), side="left"))


def json_string(values: pd.Series | np.ndarray) -> np.ndarray:
    """JSON string literals (object array) for a column of str."""
    values = np.asarray(values, dtype=object)
    quoted = np.add(np.add('"', values), '"')
    escape = _rows_needing_escape(values)
    if len(escape):
        quoted[escape] = [json.dumps(text, ensure_ascii=False) for text in values[escape]]
    return quoted


def json_object(fields: Sequence[tuple[str, np.ndarray, np.ndarray | None]], length: int) -> np.ndarray:
    """JSON objects (object array) from (key, JSON-encoded values, present mask or None = always).

    Built as one list of pieces per field ("," + '"key":' + value, or "" where absent) added up once,
    avoiding masked assignments, which are slow on object arrays.
    """
    pieces = []
    filled = np.zeros(length, dtype=bool)
    for key, encoded, present in sorted(fields, key=lambda field: field[0]):
        prefix = json.dumps(key, ensure_ascii=False) + ":"
        if filled.all():
            piece = np.add("," + prefix, encoded)
        elif not filled.any():
            piece = np.add(prefix, encoded)
        else:
            piece = np.add(np.where(filled, "," + prefix, prefix).astype(object), encoded)
        if present is None:
            filled[:] = True
        else:
            present = np.asarray(present, dtype=bool)
            piece = np.where(present, piece, "")
            filled |= present
        pieces.append(piece)
    body = np.full(length, "{", dtype=object)
    for piece in pieces:
        body = np.add(body, piece)
    return np.add(body, "}")


def json_list(items: Sequence[str]) -> str:
    """A canonical JSON array of strings (for the handful of distinct tag sets)."""
    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


def canonical(record: dict) -> str:
    """The reference canonical JSON of one record (tests and small callers)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

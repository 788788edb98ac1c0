"""Canonical JSON built column-wise: the payload text that is hashed, stored and sent.

`json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` per row would build a
dict and walk it per party. Here the values are encoded column-wise (quoting with numpy, escaping found
by one regex scan; only strings that need escaping go through `json.dumps`, one by one), and each row's
pieces are joined by a single `str.join`: keys in sorted order, a field left out where its mask is
False. A property test holds the result equal to `json.dumps` of the row's dict, so the hash is the
canonical-JSON hash.
"""

from __future__ import annotations

import hashlib
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


def _pieces(fields: Sequence[tuple[str, np.ndarray, np.ndarray | None]], length: int) -> list[np.ndarray]:
    """Per field, in key order: ',"key":value' where present, "" where absent (vectorised)."""
    pieces = []
    for key, encoded, present in sorted(fields, key=lambda field: field[0]):
        prefix = np.empty((), dtype=object)
        prefix[()] = "," + json.dumps(key, ensure_ascii=False) + ":"
        piece = np.add(prefix, np.asarray(encoded, dtype=object))
        if present is not None:
            piece[~np.asarray(present, dtype=bool)] = ""
        pieces.append(piece)
    return pieces


def json_object(fields: Sequence[tuple[str, np.ndarray, np.ndarray | None]], length: int) -> np.ndarray:
    """JSON objects (object array) from (key, JSON-encoded values, present mask or None = always).

    The pieces are built column-wise; each row's are then joined by one `str.join` (a C call per row:
    numpy object additions field by field cost five times more, one temporary string per field).
    """
    pieces = _pieces(fields, length)
    if not pieces:
        return np.full(length, "{}", dtype=object)
    return np.array(["{" + "".join(row)[1:] + "}" for row in zip(*pieces, strict=True)], dtype=object)


def json_object_hashes(
    fields: Sequence[tuple[str, np.ndarray, np.ndarray | None]], length: int
) -> np.ndarray:
    """MD5 hex of each row's canonical JSON object, without keeping the texts (one C pass per row)."""
    pieces = _pieces(fields, length)
    return np.array(
        [
            hashlib.md5(("{" + "".join(row)[1:] + "}").encode("utf-8")).hexdigest()
            for row in zip(*pieces, strict=True)
        ],
        dtype=object,
    )


def json_list(items: Sequence[str]) -> str:
    """A canonical JSON array of strings (for the handful of distinct tag sets)."""
    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


def canonical(record: dict) -> str:
    """The reference canonical JSON of one record (tests and small callers)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

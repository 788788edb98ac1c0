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
from dataclasses import dataclass
from itertools import repeat

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


@dataclass(frozen=True)
class QuotedText:
    """String values to be written as JSON strings: the escaped content, the quotes added when joined.

    Keeping the quotes out spares two string copies per value; most values need no escaping at all,
    so their content is the very str objects of the input column.
    """

    content: np.ndarray


def json_string(values: pd.Series | np.ndarray) -> QuotedText:
    """JSON string values for a column of str."""
    content = np.asarray(values, dtype=object)
    escape = _rows_needing_escape(content)
    if len(escape):
        content = content.copy()
        content[escape] = [json.dumps(text, ensure_ascii=False)[1:-1] for text in content[escape]]
    return QuotedText(content)


def _object(text: str) -> np.ndarray:
    scalar = np.empty((), dtype=object)
    scalar[()] = text
    return scalar


def _columns(fields: Sequence[tuple[str, np.ndarray | QuotedText, np.ndarray | None]], length: int) -> list:
    """Per field, in key order: opener ',"key":' (+ '"'), value, closer, each "" where absent."""
    columns: list = []
    for key, encoded, present in sorted(fields, key=lambda field: field[0]):
        quoted = isinstance(encoded, QuotedText)
        values = encoded.content if quoted else np.asarray(encoded, dtype=object)
        opener = "," + json.dumps(key, ensure_ascii=False) + ":" + ('"' if quoted else "")
        closer = '"' if quoted else ""
        if present is None:
            columns += [repeat(opener, length), values, repeat(closer, length)]
        else:
            present = np.asarray(present, dtype=bool)
            blank = _object("")
            columns += [
                np.where(present, _object(opener), blank),
                np.where(present, values, blank),
                np.where(present, _object(closer), blank),
            ]
    return columns


_CHUNK_ROWS = 65536
"""Rows joined per chunk: the per-field opener/value/closer columns exist for one chunk at a time
(for a whole million-row batch they would be some 20 object arrays of 8 MB each at once)."""


def _chunks(fields: Sequence[tuple[str, np.ndarray | QuotedText, np.ndarray | None]], length: int):
    """(start, stop, columns of `_columns`) per chunk of rows."""
    fields = [
        (
            key,
            encoded.content if isinstance(encoded, QuotedText) else np.asarray(encoded, dtype=object),
            isinstance(encoded, QuotedText),
            None if present is None else np.asarray(present, dtype=bool),
        )
        for key, encoded, present in fields
    ]
    for start in range(0, length, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, length)
        chunk = [
            (
                key,
                QuotedText(values[start:stop]) if quoted else values[start:stop],
                None if present is None else present[start:stop],
            )
            for key, values, quoted, present in fields
        ]
        yield start, stop, _columns(chunk, stop - start)


def json_object(
    fields: Sequence[tuple[str, np.ndarray | QuotedText, np.ndarray | None]], length: int
) -> np.ndarray:
    """JSON objects (object array) from (key, encoded values, present mask or None = always).

    The columns are prepared column-wise; each row is then joined by one `str.join` (a C call per row:
    numpy object additions field by field cost several times more, one temporary string per step).
    """
    if not fields:
        return np.full(length, "{}", dtype=object)
    result = np.empty(length, dtype=object)
    for start, stop, columns in _chunks(fields, length):
        result[start:stop] = ["{" + "".join(row)[1:] + "}" for row in zip(*columns, strict=True)]
    return result


def json_object_hashes(
    fields: Sequence[tuple[str, np.ndarray | QuotedText, np.ndarray | None]], length: int
) -> np.ndarray:
    """MD5 hex of each row's canonical JSON object, without keeping the texts (one C pass per row)."""
    result = np.empty(length, dtype=object)
    for start, stop, columns in _chunks(fields, length):
        result[start:stop] = [
            hashlib.md5(("{" + "".join(row)[1:] + "}").encode("utf-8")).hexdigest()
            for row in zip(*columns, strict=True)
        ]
    return result


def json_list(items: Sequence[str]) -> str:
    """A canonical JSON array of strings (for the handful of distinct tag sets)."""
    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


def canonical(record: dict) -> str:
    """The reference canonical JSON of one record (tests and small callers)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

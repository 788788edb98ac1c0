"""Canonical JSON built column-wise: the payload text that is hashed, stored and sent.

`json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` per row would cost a
Python call per party and key. Here the same text is assembled with numpy string concatenation over
whole columns: keys in sorted order, a field left out where its mask is False. Only strings that need
escaping (quotes, backslashes, control characters) go through `json.dumps`, one by one. A property test
holds the result equal to `json.dumps` of the row's dict, so the hash is the canonical-JSON hash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def json_string(values: pd.Series | np.ndarray) -> np.ndarray:
    """JSON string literals (object array) for a column of str."""
    values = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    quoted = np.add(np.add('"', values.to_numpy(dtype=object)), '"')
    escape = values.str.contains(_NEEDS_ESCAPE, regex=True).to_numpy(dtype=bool)
    if escape.any():
        quoted[escape] = [json.dumps(text, ensure_ascii=False) for text in values.to_numpy()[escape]]
    return quoted


def json_object(fields: Sequence[tuple[str, np.ndarray, np.ndarray | None]], length: int) -> np.ndarray:
    """JSON objects (object array) from (key, JSON-encoded values, present mask or None = always)."""
    body = np.full(length, "", dtype=object)
    filled = np.zeros(length, dtype=bool)
    for key, encoded, present in sorted(fields, key=lambda field: field[0]):
        mask = np.ones(length, dtype=bool) if present is None else np.asarray(present, dtype=bool)
        fragment = np.add(json.dumps(key) + ":", encoded[mask])
        separator = np.where(filled[mask], ",", "")
        body[mask] = np.add(np.add(body[mask], separator), fragment)
        filled |= mask
    return np.add(np.add("{", body), "}")


def json_list(items: Sequence[str]) -> str:
    """A canonical JSON array of strings (for the handful of distinct tag sets)."""
    return json.dumps(list(items), ensure_ascii=False, separators=(",", ":"))


def canonical(record: dict) -> str:
    """The reference canonical JSON of one record (tests and small callers)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

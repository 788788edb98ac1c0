"""Text limits: Mailchimp truncates text merge fields to 255 bytes; we cut first so the audit shows it.

The cut is on UTF-8 bytes and never splits a character. It is vectorised: a string of at most
limit // 4 characters cannot exceed the limit (UTF-8 uses at most 4 bytes per character), so only the
longer ones, few in JDE where most columns hold 40 characters or less, are encoded one by one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 encoding fits in `limit` bytes."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # errors="ignore" only drops the partial character at the end: the bytes came from a valid str.
    return encoded[:limit].decode("utf-8", errors="ignore")


def cut_series(values: pd.Series, limit: int) -> pd.Series:
    """`cut_utf8` over a string Series; only strings longer than limit // 4 characters are looked at."""
    array = values.to_numpy(dtype=object)
    long = lengths(array) > limit // 4
    if not long.any():
        return values
    result = values.copy()
    result[long] = [cut_utf8(text, limit) for text in array[long]]
    return result


def lengths(values: np.ndarray) -> np.ndarray:
    """Character counts of an object array of str (`map(len)` runs in C; `.str.len()` does not)."""
    return np.fromiter(map(len, values), dtype=np.int64, count=len(values))


def collapse_whitespace(values: pd.Series) -> pd.Series:
    """Runs of white space become one blank; leading and trailing white space goes."""
    return values.str.replace(r"\s+", " ", regex=True).str.strip()

"""fast_json.encode: the standard library's compact JSON, faster, and nothing that encoded before fails.

Derandomized: the same examples on every run and every day (the project fixes its tests' seeds)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from jde_mc_pipeline import fast_json

_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text()
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def _standard(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_DOCUMENTS)
def test_the_bytes_are_the_standard_librarys_compact_form(document: object) -> None:
    """Byte for byte, big integers included (they take the standard library's path)."""
    assert fast_json.encode(document) == _standard(document)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_read_back_as_the_same_value(number: float) -> None:
    """orjson may spell a float otherwise (1e16 for 1e+16); the value read back is the same."""
    assert json.loads(fast_json.encode({"x": number})) == {"x": number}


def test_integer_keys_become_strings_and_a_64_bit_overflow_still_encodes() -> None:
    assert fast_json.encode({1: "a", "b": 2**64}) == b'{"1":"a","b":18446744073709551616}'
    assert fast_json.encode(["Zürich", "東京"]) == '["Zürich","東京"]'.encode()

"""Property tests: accounting, determinism, idempotence, and the vectorised helpers' equivalences."""

from __future__ import annotations

import json

import email_validator
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.canonical import canonical, json_object, json_string
from jde_mc_pipeline.mapping.emails import plainly_valid
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.mapping.text import cut_utf8
from jde_mc_pipeline_tests.mapping.builders import TODAY, frames, synced

EMAILS = ["a@example.com", "A@Example.com ", "b@example.org", "bad@", "", "ü@exämple.de", None]
TEXT = st.text(alphabet=st.sampled_from(list('ab é"\\\t漢😀')), max_size=6)


@st.composite
def batches(draw) -> dict[str, list[dict]]:
    """A handful of parties with colliding e-mails, partial addresses and odd text."""
    tables: dict[str, list[dict]] = {
        name: [] for name in ("F0101", "F0111", "F01151", "F0115", "F0116", "F03012")
    }
    an8s = draw(st.lists(st.integers(1, 40), min_size=0, max_size=8, unique=True))
    for an8 in an8s:
        upmj = draw(st.sampled_from(["2026-01-01", "2026-02-01", None]))
        stamp = {"UPMJ": upmj} if upmj else {}
        if draw(st.booleans()) or not draw(st.booleans()):
            tables["F0101"].append(
                {"AN8": an8, "ALPH": draw(TEXT), "AT1": draw(st.sampled_from("CVEO ")), **stamp}
            )
        if draw(st.booleans()):
            tables["F03012"].append({"AN8": an8, "CO": "00001"})
        tables["F0111"].append({"AN8": an8, "IDLN": 0, "GNNM": draw(TEXT), "SRNM": draw(TEXT)})
        email = draw(st.sampled_from(EMAILS))
        if email is not None:
            tables["F01151"].append({"AN8": an8, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": email, **stamp})
        if draw(st.booleans()):
            tables["F0115"].append(
                {"AN8": an8, "IDLN": 0, "RCK7": 1, "PHTP": "", "AR1": "1", "PH1": draw(TEXT)}
            )
        if draw(st.booleans()):
            parts = {key: draw(st.sampled_from(["", "x", "ü"])) for key in ("ADD1", "CTY1", "ADDS", "ADDZ")}
            tables["F0116"].append(
                {"AN8": an8, **parts, "CTR": draw(st.sampled_from(["", "US", "FRA", "ZZ"]))}
            )
    return tables


@settings(max_examples=30, deadline=None)
@given(batches())
def test_every_pulled_party_ends_in_exactly_one_outcome_per_target(tables):
    result = map_batch(frames(**tables), today=TODAY)
    for target in TARGETS:
        decided = result.outcomes.loc[result.outcomes["target"] == target, "an8"].tolist()
        sent = result.payloads(target)["key"].astype(int).tolist()
        assert sorted(decided + sent) == result.pulled.tolist()


@settings(max_examples=15, deadline=None)
@given(batches(), st.randoms(use_true_random=False))
def test_mapping_is_deterministic_and_ignores_row_order(tables, rng):
    first = map_batch(frames(**tables), today=TODAY)
    shuffled = {name: rng.sample(rows, len(rows)) for name, rows in tables.items()}
    second = map_batch(frames(**shuffled), today=TODAY)
    for target in TARGETS:
        a = first.payloads(target).sort_values("key").reset_index(drop=True)
        b = second.payloads(target).sort_values("key").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    columns = ["an8", "target", "outcome", "reason"]
    a, b = (
        r.outcomes[columns].sort_values(["an8", "target"]).reset_index(drop=True) for r in (first, second)
    )
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=15, deadline=None)
@given(batches())
def test_remapping_against_the_synced_state_is_all_unchanged(tables):
    first = map_batch(frames(**tables), today=TODAY)
    second = map_batch(frames(**tables), today=TODAY, state=synced(first))
    assert second.members.empty and second.customers.empty
    for target in TARGETS:
        was_sent = set(first.payloads(target)["key"].astype(int))
        now = second.outcomes.loc[second.outcomes["target"] == target]
        assert set(now.loc[now["outcome"] == "unchanged", "an8"]) == was_sent


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.dictionaries(st.sampled_from(["b", "a", "ADDRESS", "Z", "é"]), TEXT, max_size=5), max_size=6)
)
def test_column_wise_json_is_canonical_json(records):
    keys = sorted({key for record in records for key in record})
    fields = [
        (
            key,
            json_string(np.array([r.get(key, "") for r in records], dtype=object)),
            np.array([key in r for r in records], dtype=bool),
        )
        for key in keys
    ]
    assert json_object(fields, len(records)).tolist() == [canonical(r) for r in records]
    assert [json.loads(text) for text in json_object(fields, len(records))] == records


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"[a-z0-9_.+\-]{1,12}@[a-z0-9.\-]{1,20}", fullmatch=True) | st.emails().map(str.lower))
def test_the_fast_email_path_only_accepts_what_email_validator_accepts(email):
    if plainly_valid(pd.Series([email], dtype=object)).iloc[0]:
        email_validator.validate_email(email, check_deliverability=False)


@settings(max_examples=50)
@given(st.text(max_size=120), st.integers(0, 300))
def test_cut_never_splits_a_character_and_keeps_the_longest_prefix(text, limit):
    cut = cut_utf8(text, limit)
    assert text.startswith(cut) and len(cut.encode()) <= limit
    assert cut == text or len(text[: len(cut) + 1].encode()) > limit

"""The pandera contracts: generated from the table catalogue, lazy per row, loud on structure."""

from __future__ import annotations

import pandas as pd
import pytest

from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.schemas import EXTRACT_MODELS, StructureError, validate_rows
from jde_mc_pipeline_tests.mapping.builders import combine, frames, party


@pytest.mark.parametrize("name", sorted(TABLES))
def test_each_extract_model_has_the_catalogue_columns(name):
    assert list(EXTRACT_MODELS[name].to_schema().columns) == [*TABLES[name].aliases, "updated_at"]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_well_formed_extract_passes_whole(name):
    frame = frames(**combine(party(1), party(2)))[name]
    valid, failures = validate_rows(EXTRACT_MODELS[name], frame, name)
    assert len(valid) == len(frame) and failures.empty


BAD_ROWS = [
    pytest.param("F0101", "AN8", -5, "greater_than(0)", id="non-positive-AN8"),
    pytest.param("F0101", "ALPH", None, "not_nullable", id="null-string"),
    pytest.param("F0101", "ALPH", 7, "is_str", id="number-in-string-column"),
    pytest.param("F0101", "UPMT", 246000, "in_range(0, 235959)", id="time-out-of-range"),
    pytest.param("F01151", "RCK7", pd.NA, "not_nullable", id="null-line-key"),
]


@pytest.mark.parametrize(("name", "column", "value", "check"), BAD_ROWS)
def test_a_bad_row_is_reported_with_its_an8_and_reason_and_dropped(name, column, value, check):
    frame = frames(**combine(party(1), party(2)))[name]
    frame.loc[1, column] = value
    valid, failures = validate_rows(EXTRACT_MODELS[name], frame, name)
    assert valid["AN8"].tolist() == [1]
    row = failures.iloc[0]
    expected_an8 = 2 if column != "AN8" else -5
    assert (row["table"], row["an8"], row["column"], row["check"]) == (name, expected_an8, column, check)


def test_missing_column_is_a_structure_error_naming_it():
    frame = frames(**party(1))["F0116"].drop(columns=["CTR"])
    with pytest.raises(StructureError, match=r"F0116.*CTR"):
        validate_rows(EXTRACT_MODELS["F0116"], frame, "F0116")


def test_wrong_dtype_is_a_structure_error():
    frame = frames(**party(1))["F0116"]
    frame["EFTB"] = frame["EFTB"].astype(str)
    with pytest.raises(StructureError, match="EFTB"):
        validate_rows(EXTRACT_MODELS["F0116"], frame, "F0116")


def test_any_time_zone_is_accepted_for_updated_at():
    frame = frames(**party(1))["F0101"]
    frame["updated_at"] = frame["updated_at"].dt.tz_convert("Asia/Tokyo")
    valid, failures = validate_rows(EXTRACT_MODELS["F0101"], frame, "F0101")
    assert failures.empty and isinstance(valid["updated_at"].dtype, pd.DatetimeTZDtype)

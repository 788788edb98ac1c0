"""Typing of GRID_DATA rowsets, including the forms AIS might use that the emulator does not send.

The blank-date form (null, "" or a missing key) and extra keys are unconfirmed (docs/ais.md,
"The data service"), so the client accepts all of them; these rows are what such answers would carry.
"""

from __future__ import annotations

import pandas as pd
import pytest

from jde_mc_pipeline.jde.frames import FrameBuilder, empty_frame
from jde_mc_pipeline.jde.tables import TABLES


def test_blank_dates_in_every_form_and_missing_values() -> None:
    builder = FrameBuilder(TABLES["F0116"])
    builder.add(
        [
            {"F0116_AN8": 1, "F0116_EFTB": None, "F0116_ADD1": "  1 Main St  ", "F0116_UPMJ": "20250115"},
            {"F0116_AN8": 2, "F0116_EFTB": "", "F0116_UPMJ": "20250116", "F0116_UPMT": 507, "F0116_XYZ": 1},
        ]
    )
    builder.add([{"F0116_AN8": "3", "F0116_ADD1": None, "F0116_UPMJ": None, "F0116_UPMT": 235959}])
    frame = builder.build("UTC")
    assert frame["EFTB"].isna().all()
    assert list(frame["AN8"]) == [1, 2, 3] and frame["AN8"].dtype == "Int64"
    assert list(frame["ADD1"]) == ["1 Main St", "", ""]
    assert list(frame["UPMT"]) == [0, 507, 235959]
    assert frame["updated_at"].iloc[1] == pd.Timestamp("2025-01-16 00:05:07", tz="UTC")
    assert frame["updated_at"].iloc[2] is pd.NaT
    assert "XYZ" not in frame.columns


def test_a_bad_value_names_table_and_column() -> None:
    builder = FrameBuilder(TABLES["F0101"])
    builder.add([{"F0101_AN8": 1, "F0101_UPMJ": "2025-01-15"}])
    with pytest.raises(ValueError, match=r"F0101\.UPMJ.*2025-01-15"):
        builder.build("UTC")


def test_empty_frames_have_the_contract_dtypes() -> None:
    for name, spec in TABLES.items():
        frame = empty_frame(spec, "America/Chicago")
        assert list(frame.columns) == [*spec.read_aliases(), "updated_at"], name
        for column in map(spec.column, spec.read_aliases()):
            expected = {"string": "object", "number": "Int64", "time": "Int64", "date": "datetime64[ns]"}
            assert str(frame[column.alias].dtype) == expected[column.kind], (name, column.alias)
        assert str(frame["updated_at"].dtype) == "datetime64[ns, America/Chicago]"


def test_text_typed_page_by_page_is_the_text_of_the_whole_column() -> None:
    """Text is stripped as each page arrives (jde/frames.py): a loose page (a number, NaN, pd.NA in a
    text column) beside a clean one gives what stripping the whole column at the end gave, and an equal
    text of two pages is one object, so a table's codes cost one string each, not one per row."""
    pages = [
        [{"F0116_AN8": 1, "F0116_ADD1": " Main St ", "F0116_CTY1": "PARIS  ", "F0116_COUN": None}],
        [
            {"F0116_AN8": 2, "F0116_ADD1": 12, "F0116_CTY1": "PARIS", "F0116_COUN": float("nan")},
            {"F0116_AN8": 3, "F0116_ADD1": pd.NA, "F0116_CTY1": "\tPARIS", "F0116_COUN": " FR "},
        ],
        [{"F0116_AN8": 4, "F0116_ADD1": "", "F0116_CTY1": "".join(["PA", "RIS"])}],
    ]
    builder = FrameBuilder(TABLES["F0116"])
    for page in pages:
        builder.add(page)
    frame = builder.build("UTC")
    assert list(frame["ADD1"]) == ["Main St", "12", "", ""]
    assert list(frame["COUN"]) == ["", "", "FR", ""]
    assert list(frame["CTY1"]) == ["PARIS"] * 4
    assert len({id(text) for text in frame["CTY1"]}) == 1
    assert frame["ADD1"].dtype == object and frame["CTY1"].dtype == object

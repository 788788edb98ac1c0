"""The mapping step's inputs as staged (defs/mapping/assets.py): the `partition_key` column taken off
without a copy, and the mapping of such frames the same as of copied ones."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from jde_mc_pipeline.defs.mapping.assets import without_partition_keys
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party


def _staged() -> dict[str, pd.DataFrame]:
    """Six frames as the staging IO manager hands them over: a `partition_key` column, and consolidated
    blocks as a pickle round trip leaves them."""
    tables = frames(
        **combine(
            party(1, email="ann@example.com", upmj="2026-11-02"),
            party(2, at1="V", email="Ann@Example.com ", alph="Beta"),  # the same e-mail: folded into one
            party(3, email=None),
            party(4, at1="E", email="eve@example.com"),
        )
    )
    staged = {}
    for name, frame in tables.items():
        keyed = frame.assign(
            **{PARTITION_COLUMN: np.where(frame["AN8"] % 2 == 0, "2026-11-02", "2026-11-01")}
        )
        staged[name] = pickle.loads(pickle.dumps(keyed))
    return staged


def test_the_partition_column_goes_without_copying_the_others() -> None:
    staged = _staged()["F0101"]
    frame = without_partition_keys(staged)
    assert PARTITION_COLUMN not in frame.columns and PARTITION_COLUMN in staged.columns
    pd.testing.assert_frame_equal(frame, staged.drop(columns=PARTITION_COLUMN))
    for column in ("AN8", "ALPH", "UPMJ"):
        assert np.shares_memory(np.asarray(frame[column].array), np.asarray(staged[column].array)), column
    assert without_partition_keys(frame).columns.equals(frame.columns)  # no column: the frame as it is


def test_mapping_frames_without_their_partition_column_is_mapping_copies() -> None:
    staged = _staged()
    shared = map_batch({name: without_partition_keys(f) for name, f in staged.items()}, today=TODAY)
    copied = map_batch({name: f.drop(columns=PARTITION_COLUMN) for name, f in staged.items()}, today=TODAY)
    assert len(shared.members) == 1 and len(shared.outcomes)  # a fold, a quarantine and a role skipped
    for field in ("parties", "members", "customers", "outcomes", "leaves", "events", "trail", "failures"):
        pd.testing.assert_frame_equal(getattr(shared, field), getattr(copied, field), obj=field)
    for name, frame in staged.items():
        assert PARTITION_COLUMN in frame.columns, name  # the staged inputs are left as they were

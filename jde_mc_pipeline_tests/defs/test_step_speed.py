"""The steps' collector thresholds hold inside the block only, also when the step fails."""

from __future__ import annotations

import gc

import pytest

from jde_mc_pipeline.defs.step_speed import STEP_THRESHOLDS, fewer_collections


def test_the_thresholds_are_raised_inside_and_restored_after_even_on_failure() -> None:
    before = gc.get_threshold()
    assert before != STEP_THRESHOLDS
    with fewer_collections():
        assert gc.get_threshold() == STEP_THRESHOLDS
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("the step failed")
    assert gc.get_threshold() == before

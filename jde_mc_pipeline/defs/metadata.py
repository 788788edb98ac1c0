"""What the steps show in the UI: numbers that the Plots view can draw, per partition where it is known.

Why numbers and not JSON: the Plots view of an asset (Overview → Metadata) draws numeric metadata over
partitions and time, so an operator sees at a glance the day that created 800 contacts or rejected 40.
Counts are grouped into the outcome families of docs/mapping.md (`quarantined` sums `quarantined:*`, …),
every family present with 0 when absent, so the lines are continuous. A range run records each
partition's own counts (`AssetExecutionContext.add_asset_metadata(partition_key=...)`) and labels the
run's totals `run_*`, so that no partition of a range seems to have done the whole run's work; the run's
totals and samples go on its last partition only (`add_run_metadata`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import pandas as pd

from jde_mc_pipeline.mapping.outcomes import OUTCOME_FAMILIES, family
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN

SAMPLE_ROWS = 10
OWNERS = ["team:data-engineering"]
"""Who answers for the pipeline's assets (shown in the UI, filterable)."""


def outcome_counts(outcomes: pd.DataFrame) -> dict[str, int]:
    """Rows per outcome family (every family, 0 when absent): the one count of outcomes in Python (the
    audit's `sync_runs.counts` are counted by the store, per target and full outcome name)."""
    found = outcomes["outcome"].astype(str).map(family).value_counts()
    return {name: int(found.get(name, 0)) for name in OUTCOME_FAMILIES}


def numbers(values: Mapping[str, int | float], prefix: str = "") -> dict[str, dg.MetadataValue]:
    """Numeric metadata (drawn by the Plots view)."""
    return {
        prefix + name: dg.MetadataValue.int(int(value))
        if float(value).is_integer()
        else dg.MetadataValue.float(float(value))
        for name, value in values.items()
    }


def add_partition_counts(
    context: dg.AssetExecutionContext,
    frame: pd.DataFrame,
    asset_key: dg.AssetKey | None = None,
    *,
    outcomes: bool = False,
) -> None:
    """Each partition's own row count (and outcome families) on its own materialization; counted, not
    grouped (a group per partition would copy its rows)."""
    sizes = frame[PARTITION_COLUMN].value_counts()
    families = (
        pd.crosstab(frame[PARTITION_COLUMN], frame["outcome"].astype(str).map(family))
        if outcomes and len(frame)
        else pd.DataFrame()
    )
    for key in context.partition_keys:
        values: dict[str, int] = {"dagster/row_count": int(sizes.get(key, 0))}
        if outcomes:
            found = families.loc[key] if key in families.index else pd.Series(dtype=int)
            values.update({name: int(found.get(name, 0)) for name in OUTCOME_FAMILIES})
        context.add_asset_metadata(numbers(values), asset_key=asset_key, partition_key=key)


def add_run_metadata(
    context: dg.AssetExecutionContext,
    metadata: Mapping[str, Any],
    asset_key: dg.AssetKey | None = None,
) -> None:
    """The run's own metadata (`run_*` totals, samples, windows) on the materialization of the step's
    last partition only.

    Why not on the output, which puts it on every partition's materialization: Dagster stores the metadata
    with each event, and a sample table made an event of the embedded instance three times as slow (7 → 24
    ms); a 31-day range run copied it 31 times per asset. The run's last partition is the one the UI
    shows as the asset's latest materialization.
    """
    context.add_asset_metadata(dict(metadata), asset_key=asset_key, partition_key=context.partition_keys[-1])


def counts_of(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    """Rows per value (or combination of values) of `columns`, keys joined by ':'."""
    if frame.empty:
        return {}
    return {
        ":".join(map(str, k if isinstance(k, tuple) else (k,))): int(v)
        for k, v in frame.groupby(columns).size().items()
    }


def sample(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> dg.MetadataValue:
    """A markdown table of the first rows (`_none_` when empty)."""
    return dg.MetadataValue.md("_none_" if frame.empty else frame.head(rows).to_markdown(index=False))

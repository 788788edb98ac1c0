"""`StagedFrameIOManager`: hands frames between steps as one pickle per asset and partition.

Why our own IO manager (notes/dagster.md): the default filesystem IO manager refuses an output of a
step that covers several partitions (a single-run backfill); the DuckDB pandas IO manager opens the
audit file read-write even to load an input, which would force every step (the Mailchimp ones too)
into one DuckDB pool. Pickle keeps pandas dtypes exactly (nullable Int64, tz-aware datetimes) and
needs no pyarrow. DuckDB stays off the data-passing path; the audit trail is written by the steps
through `AuditStore`'s short connections.

Every frame that goes through it carries a `partition_key` column (ISO date). An output is split by
that column into `<base>/<asset key path>/<partition key>.pkl`, one file for every partition of the
step (an empty frame where a partition has no rows, so a later load of any of them never misses); a
row whose key is not one of the step's partitions is an error, never dropped. An input is the
concatenation of the files of the partitions asked for. Files are written to a temporary name and
renamed, so a concurrent reader sees the old frame or the new one, never half of one.

The base folder is `JDE_MC_STAGING_DIR` (default `data/staging`); files are overwritten by the next
materialization of the same partition, so the folder holds one frame per asset and partition.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

PARTITION_COLUMN = "partition_key"
DEFAULT_STAGING_DIR = "data/staging"
UNPARTITIONED = "__unpartitioned__"


class StagingError(RuntimeError):
    """A staged frame is missing, or a frame cannot be staged as it is."""


class StagedFrameIOManager(dg.ConfigurableIOManager):
    """Stores each output frame per partition key and loads inputs by concatenating partitions."""

    base_dir: str | None = Field(
        default=None, description=f"staging folder (JDE_MC_STAGING_DIR, default {DEFAULT_STAGING_DIR})"
    )

    def _folder(self, key: dg.AssetKey) -> Path:
        base = self.base_dir or (os.environ.get("JDE_MC_STAGING_DIR") or "").strip() or DEFAULT_STAGING_DIR
        return Path(base).joinpath(*key.path)

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise StagingError(f"{context.asset_key.to_user_string()}: expected a DataFrame, got {type(obj)}")
        folder = self._folder(context.asset_key)
        folder.mkdir(parents=True, exist_ok=True)
        if not context.has_asset_partitions:
            _write(folder / f"{UNPARTITIONED}.pkl", obj)
            return
        if PARTITION_COLUMN not in obj.columns:
            raise StagingError(
                f"{context.asset_key.to_user_string()}: the frame has no {PARTITION_COLUMN} column"
            )
        keys = list(context.asset_partition_keys)
        stray = sorted(set(obj[PARTITION_COLUMN].unique()) - set(keys))
        if stray:
            raise StagingError(
                f"{context.asset_key.to_user_string()}: rows for partitions {stray[:5]} outside this step's "
                f"{keys[0]}...{keys[-1]}"
            )
        groups = dict(tuple(obj.groupby(PARTITION_COLUMN, sort=False))) if len(obj) else {}
        for key in keys:
            _write(folder / f"{key}.pkl", groups.get(key, obj.iloc[0:0]))
        context.add_output_metadata(
            {"staged_partitions": len(keys), "staged_files": dg.MetadataValue.path(str(folder))}
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = context.asset_key
        folder = self._folder(key)
        names = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        frames = []
        for name in names:
            path = folder / f"{name}.pkl"
            if not path.exists():
                raise StagingError(
                    f"{key.to_user_string()} has no staged frame for partition {name} ({path}): "
                    "materialize it for that partition first"
                )
            with path.open("rb") as handle:
                frames.append(pickle.load(handle))
        filled = [frame for frame in frames if len(frame)]
        if not filled:
            return frames[0]
        return filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)


def _write(path: Path, frame: pd.DataFrame) -> None:
    handle, temporary = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(frame.reset_index(drop=True), out, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

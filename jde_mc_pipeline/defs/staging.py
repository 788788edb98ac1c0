"""`StagedFrameIOManager`: hands frames between steps as one pickle per asset, partition and run.

Why our own IO manager: the default filesystem IO manager refuses an output of a
step that covers several partitions (a single-run backfill); the DuckDB pandas IO manager opens the
audit file read-write even to load an input, which would force every step (the Mailchimp ones too)
into one DuckDB pool. Pickle keeps pandas dtypes exactly (nullable Int64, tz-aware datetimes) and
needs no pyarrow. DuckDB stays off the data-passing path; the audit trail is written by the steps
through `AuditStore`'s short connections.

Every frame that goes through it carries a `partition_key` column (ISO date). An output is split by
that column into `<base>/<asset key path>/<partition key>/<run id>.pkl`, one file for every partition
of the step (an empty frame where a partition has no rows, so a later load of any of them never
misses); a row whose key is not one of the step's partitions is an error, never dropped. An input is
the concatenation of the files of the partitions asked for.

Why a file per run: two runs of the same partition can overlap (a sensor run beside the schedule's);
with one file per partition the second extract would overwrite what the first run's mapping is about
to read, and the first run would record outcomes for rows it never pulled. A load therefore takes the
file written by the run that produced the upstream output (the same run, or the parent of a
re-execution), and only when that run left none (an asset materialized on its own, from an earlier
run) the newest file of the partition. Files are written under a temporary name and renamed, so a
reader never sees half a frame. Files older than `keep_hours` (`JDE_MC_STAGING_KEEP_HOURS`, default 24)
are removed when their partition is written again. The base folder is `base_dir` (`JDE_MC_STAGING_DIR`,
default `data/staging`).
"""

import os
import pickle
import tempfile
import time
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from jde_mc_pipeline.sync.stages import PARTITION_COLUMN

UNPARTITIONED = "__unpartitioned__"


class StagingError(RuntimeError):
    """A staged frame is missing, or a frame cannot be staged as it is."""


class StagedFrameIOManager(dg.ConfigurableIOManager):
    """Stores each output frame per partition key and run, and loads inputs by concatenating partitions."""

    base_dir: str = Field(
        "data/staging",
        description="folder of the frames passed between steps (<asset key>/<partition>/<run id>.pkl)",
        json_schema_extra={"env": "JDE_MC_STAGING_DIR"},
    )
    keep_hours: float = Field(
        24.0,
        ge=0,
        description="staged files older than this are removed when their partition is written again",
        json_schema_extra={"env": "JDE_MC_STAGING_KEEP_HOURS"},
    )

    def _folder(self, key: dg.AssetKey) -> Path:
        return Path(self.base_dir).joinpath(*key.path)

    def _keep_seconds(self) -> float:
        return self.keep_hours * 3600.0

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        name = context.asset_key.to_user_string()
        if not isinstance(obj, pd.DataFrame):
            raise StagingError(f"{name}: expected a DataFrame, got {type(obj).__name__}")
        folder = self._folder(context.asset_key)
        run_id = context.run_id
        if not context.has_asset_partitions:
            _write(folder / UNPARTITIONED / f"{run_id}.pkl", obj, self._keep_seconds())
            return
        if PARTITION_COLUMN not in obj.columns:
            raise StagingError(f"{name}: the frame has no {PARTITION_COLUMN} column")
        keys = list(context.asset_partition_keys)
        stray = sorted(set(obj[PARTITION_COLUMN].unique()) - set(keys))
        if stray:
            raise StagingError(
                f"{name}: rows for partitions {stray[:5]} outside this step's {keys[0]}...{keys[-1]}"
            )
        if len(keys) == 1:  # one partition (every initial load, most runs): no grouped copy of the frame
            groups = {keys[0]: obj}
        else:
            groups = dict(tuple(obj.groupby(PARTITION_COLUMN, sort=False))) if len(obj) else {}
        keep = self._keep_seconds()
        for key in keys:
            _write(folder / key / f"{run_id}.pkl", groups.get(key, obj.iloc[0:0]), keep)
        context.add_output_metadata(
            {"staged_partitions": len(keys), "staged_files": dg.MetadataValue.path(str(folder))}
        )

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = context.asset_key
        folder = self._folder(key)
        names = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        producer = _producer_run(context)
        frames = []
        for name in names:
            path = _staged_file(folder / name, producer)
            if path is None:
                raise StagingError(
                    f"{key.to_user_string()} has no staged frame for partition {name} ({folder / name}): "
                    "materialize it for that partition first"
                )
            with path.open("rb") as handle:
                frames.append(pickle.load(handle))
        filled = [frame for frame in frames if len(frame)]
        if not filled:
            return frames[0]
        return filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)


def _producer_run(context: dg.InputContext) -> str | None:
    """The run that produced the upstream output, when Dagster knows it."""
    try:
        return context.upstream_output.run_id if context.upstream_output is not None else None
    except dg.DagsterInvariantViolationError:  # a context built without a run (tests, direct loads)
        return None


def _staged_file(folder: Path, run_id: str | None) -> Path | None:
    """The producing run's file, else the newest file of the partition, else None."""
    if run_id is not None and (folder / f"{run_id}.pkl").exists():
        return folder / f"{run_id}.pkl"
    newest: tuple[int, Path] | None = None
    for candidate in folder.glob("*.pkl") if folder.is_dir() else ():
        try:
            stamp = candidate.stat().st_mtime_ns
        except FileNotFoundError:  # pruned meanwhile
            continue
        if newest is None or stamp > newest[0]:
            newest = (stamp, candidate)
    return None if newest is None else newest[1]


def _write(path: Path, frame: pd.DataFrame, keep_seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            pickle.dump(_numbered(frame), out, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    cutoff = time.time() - keep_seconds
    for old in path.parent.glob("*.pkl"):
        try:
            if old != path and old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another run pruned it first
            continue


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with rows numbered 0..n-1; as it is when they already are (a copy costs as much memory
    as the frame: hundreds of MB for the initial load's tables)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)

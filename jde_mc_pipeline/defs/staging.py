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
run) the newest file of the partition. A reader never sees half a frame (staged_files.py: a rename on
a local filesystem, one whole PUT on object storage). Files older than `keep_hours`
(`JDE_MC_STAGING_KEEP_HOURS`, default 24) are removed when their partition is written again.

Where: `base_dir` (`JDE_MC_STAGING_DIR`, default `data/staging`) is a local folder (relative to the
working directory) or an fsspec URL: a mounted volume (`/mnt/…`, `file:///…`) or object storage
(`s3://bucket/prefix` with s3fs installed, `gs://` with gcsfs, `az://` with adlfs). In a deployment the
steps of a run may execute in containers on other machines, so all of them must reach it; the local
default works only where every step of a run shares one machine (`dagster dev`, docs/operations.md).
`storage_options` (`JDE_MC_STAGING_STORAGE_OPTIONS`, JSON) passes fsspec options such as an endpoint;
credentials are refused there and in the URL: they are this resource's config, shown in the UI, so the
filesystem reads its own from its standard environment (`AWS_*` for s3fs, `GOOGLE_APPLICATION_CREDENTIALS`
for gcsfs, `AZURE_STORAGE_*` for adlfs).

Why not a subclass of Dagster's `UPathIOManager` (which gives `PickledObjectFilesystemIOManager` and
dagster-aws's S3 IO manager their paths): its `handle_output` refuses an output covering several
partitions (our single-run backfills) and writes one file per partition, `<asset>/<partition>`, that
each run overwrites; its loads read that one path, return a dict per partition when several are asked
for, and know neither the producer run nor the newest-file rule. Keeping it would mean overriding
`handle_output`, `load_input` and the path scheme, i.e. everything but `fs`, while its contract (a
fixed path per partition) stays the one we must not have. So this `ConfigurableIOManager` keeps its
semantics and does every file operation through `upath.UPath` and fsspec itself (staged_files.py).
"""

import json
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from upath import UPath

from jde_mc_pipeline.defs.staged_files import SUFFIX, is_local, newest, prune, read_frame, write_frame
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN

UNPARTITIONED = "__unpartitioned__"
CREDENTIAL_WORDS = (
    "secret",
    "token",
    "password",
    "passwd",
    "credential",
    "connection_string",
    "account_key",
    "access_key",
    "private_key",
)
"""Parts of fsspec option names that carry credentials (s3fs `key`/`secret`/`token`, adlfs `account_key`,
`sas_token`, `connection_string`, gcsfs `token`, botocore `aws_secret_access_key`)."""


class StagingError(RuntimeError):
    """A staged frame is missing, or a frame cannot be staged as it is."""


class StagedFrameIOManager(dg.ConfigurableIOManager):
    """Stores each output frame per partition key and run, and loads inputs by concatenating partitions."""

    base_dir: str = Field(
        "data/staging",
        description="folder or fsspec URL (s3://bucket/prefix, gs://…, az://…) of the frames passed "
        "between steps (<asset key>/<partition>/<run id>.pkl); every machine running a step must reach it",
        json_schema_extra={"env": "JDE_MC_STAGING_DIR"},
    )
    storage_options: dict[str, Any] = Field(
        {},
        description='fsspec options of a URL base_dir, as JSON (e.g. {"endpoint_url": "https://minio:9000"});'
        " no credentials: the filesystem reads them from its own environment (AWS_* for s3fs)",
        json_schema_extra={"env": "JDE_MC_STAGING_STORAGE_OPTIONS"},
    )
    keep_hours: float = Field(
        24.0,
        ge=0,
        description="staged files older than this are removed when their partition is written again",
        json_schema_extra={"env": "JDE_MC_STAGING_KEEP_HOURS"},
    )

    @field_validator("base_dir")
    @classmethod
    def _no_password_in_url(cls, value: str) -> str:
        if "://" in value and urlsplit(value).password is not None:
            raise ValueError(
                "the URL holds a password: give the filesystem its credentials in its environment"
            )
        return value

    @field_validator("storage_options", mode="before")
    @classmethod
    def _options(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("not valid JSON") from None
        found = sorted(_credential_names(value)) if isinstance(value, dict) else []
        if found:
            raise ValueError(
                f"{', '.join(found)}: credentials stay out of the settings (shown in the UI); "
                "give them to the filesystem in its own environment"
            )
        return value

    def _folder(self, key: dg.AssetKey) -> UPath:
        return UPath(self.base_dir, **self.storage_options).joinpath(*key.path)

    def _keep_seconds(self) -> float:
        return self.keep_hours * 3600.0

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        name = context.asset_key.to_user_string()
        if not isinstance(obj, pd.DataFrame):
            raise StagingError(f"{name}: expected a DataFrame, got {type(obj).__name__}")
        folder = self._folder(context.asset_key)
        run_id = context.run_id
        if not context.has_asset_partitions:
            self._stage(folder / UNPARTITIONED, run_id, obj)
            return
        if PARTITION_COLUMN not in obj.columns:
            raise StagingError(f"{name}: the frame has no {PARTITION_COLUMN} column")
        keys = list(context.asset_partition_keys)
        stray = sorted(set(obj[PARTITION_COLUMN].unique()) - set(keys))
        if stray:
            raise StagingError(
                f"{name}: rows for partitions {stray[:5]} outside this step's {keys[0]}...{keys[-1]}"
            )
        groups = {keys[0]: obj} if len(keys) == 1 else split_by_partition(obj)
        for key in keys:
            self._stage(folder / key, run_id, groups.get(key, obj.iloc[0:0]))
            groups.pop(key, None)  # each part released once staged
        where = dg.MetadataValue.path(str(folder)) if is_local(folder) else dg.MetadataValue.url(str(folder))
        context.add_output_metadata({"staged_partitions": len(keys), "staged_files": where})

    def _stage(self, partition: UPath, run_id: str, frame: pd.DataFrame) -> None:
        name = f"{run_id}{SUFFIX}"
        write_frame(partition / name, _numbered(frame))
        prune(partition, self._keep_seconds(), spared=name)

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        key = context.asset_key
        folder = self._folder(key)
        names = list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]
        producer = _producer_run(context)
        frames = []
        for name in names:
            frame = _load_staged(folder / name, producer)
            if frame is None:
                raise StagingError(
                    f"{key.to_user_string()} has no staged frame for partition {name} ({folder / name}): "
                    "materialize it for that partition first"
                )
            frames.append(frame)
        filled = [frame for frame in frames if len(frame)]
        if not filled:
            return frames[0]
        return filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)


def _credential_names(options: dict[str, Any], prefix: str = "") -> list[str]:
    """The option names (dotted when nested, as in `client_kwargs`) that look like credentials."""
    found = []
    for name, value in options.items():
        lowered = str(name).lower()
        if lowered == "key" or any(word in lowered for word in CREDENTIAL_WORDS):
            found.append(f"{prefix}{name}")
        elif isinstance(value, dict):
            found.extend(_credential_names(value, f"{prefix}{name}."))
    return found


def _producer_run(context: dg.InputContext) -> str | None:
    """The run that produced the upstream output, when Dagster knows it."""
    try:
        return context.upstream_output.run_id if context.upstream_output is not None else None
    except dg.DagsterInvariantViolationError:  # a context built without a run (tests, direct loads)
        return None


def _load_staged(partition: UPath, run_id: str | None) -> pd.DataFrame | None:
    """The producing run's frame, else the newest one of the partition, else None."""
    partition.fs.invalidate_cache(partition.path)  # written by another process: not in fsspec's cache
    if run_id is not None:
        try:
            return read_frame(partition / f"{run_id}{SUFFIX}")
        except FileNotFoundError:
            pass
    path = newest(partition)
    return None if path is None else read_frame(path)


def with_partition_keys(frame: pd.DataFrame, keys: Any) -> pd.DataFrame:
    """`frame` with its `partition_key` column: a new frame sharing the columns' data (`assign` would copy
    every column: hundreds of MB for the initial load's tables)."""
    keyed = frame.copy(deep=False)
    keyed[PARTITION_COLUMN] = keys
    return keyed


def split_by_partition(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each partition key, numbered from 0, for a step covering several partitions.

    One reordered copy of the frame, sliced: a `groupby` would copy each group and renumbering each group
    would copy it again, which made a range run's staging cost twice the memory and time of a
    one-partition run's.
    """
    if frame.empty:
        return {}
    codes, names = pd.factorize(frame[PARTITION_COLUMN], sort=True)
    order = np.argsort(codes, kind="stable")
    ordered = frame.take(order)
    ordered.index = pd.RangeIndex(len(ordered))
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    parts = {}
    for number, name in enumerate(names):
        part = ordered.iloc[bounds[number] : bounds[number + 1]]
        part.index = pd.RangeIndex(len(part))
        parts[str(name)] = part
    return parts


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with rows numbered 0..n-1; as it is when they already are (a copy costs as much memory
    as the frame: hundreds of MB for the initial load's tables)."""
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return frame
    return frame.reset_index(drop=True)

"""The staged frames' file operations, on a local folder, a mounted volume or object storage alike.

Every operation goes through universal_pathlib's `UPath` and its fsspec filesystem, so the same code
writes `data/staging/…`, `file:///mnt/shared/…`, `s3://bucket/prefix/…` or `memory://…` (tests).

Writing: a reader must never see half a frame. On a local filesystem (a folder, a mounted volume) the
frame is written under a temporary name in the same folder and renamed, which POSIX makes atomic. Object
storage has no rename (s3fs copies and deletes), but it has what the rename buys: an object appears only
when its PUT is complete. So there the pickled frame is handed whole to `fs.pipe_file`, one PUT (a
multipart upload completed only at its end, past the filesystem's chunk size). Not a streamed
`open("wb")`: fsspec files commit what they hold when closed, even when the `with` block ended with an
error, so a failed write could leave a truncated object under the final name. The price is one copy of
the pickled frame in memory during the upload. Which way is decided by the filesystem's protocol
(`file`/`local`), not by the URL's spelling: `data/staging`, `/mnt/x` and `file:///mnt/x` are all local.

Ages: object stores name the modification time differently in `info()`/`ls()` (local: `mtime`; s3fs:
`LastModified`; adlfs: `last_modified`; gcsfs: `updated`; the memory filesystem only `created`), as a
float, a datetime or an ISO string; `modified_at` reads them all. A file whose store gives no time is
never pruned (its age is unknown) and counts as the oldest when looking for the newest one, ties going to
the greater name, so the choice never depends on the listing's order.
"""

from __future__ import annotations

import datetime as dt
import pickle
import time
import uuid
from collections.abc import Mapping
from typing import Any

import pandas as pd
from upath import UPath

SUFFIX = ".pkl"
LOCAL_PROTOCOLS = frozenset({"file", "local"})
MODIFIED_KEYS = ("mtime", "LastModified", "last_modified", "updated", "created", "creation_time")
"""The `info()` keys of a file's modification time, most precise first (`created` last: on the memory
filesystem, which rewrites a file as a new one, it is the time of the last write)."""


def is_local(path: UPath) -> bool:
    """Whether `path` is on a local filesystem (a folder or a mounted volume), where rename is atomic."""
    protocols = path.fs.protocol
    return bool(LOCAL_PROTOCOLS.intersection((protocols,) if isinstance(protocols, str) else protocols))


def write_frame(path: UPath, frame: pd.DataFrame) -> None:
    """`frame` pickled at `path`, appearing whole or not at all (module doc)."""
    if not is_local(path):
        path.fs.pipe_file(path.path, pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL))
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("wb") as out:
            pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.rename(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_frame(path: UPath) -> pd.DataFrame:
    """The frame pickled at `path` (FileNotFoundError when there is none)."""
    with path.open("rb") as handle:
        return pickle.load(handle)


def staged_stamps(folder: UPath) -> dict[str, float | None]:
    """The staged files of `folder` by name, with their modification times (None: the store gives none);
    empty when the folder does not exist. The listing is asked of the store, not of fsspec's cache:
    another machine's run may have written since this process last listed."""
    fs = folder.fs
    fs.invalidate_cache(folder.path)
    try:
        entries = fs.ls(folder.path, detail=True)
    except FileNotFoundError:
        return {}
    stamps = {}
    for entry in entries:
        name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
        if entry.get("type") != "directory" and name.endswith(SUFFIX):
            stamps[name] = modified_at(entry)
    return stamps


def newest(folder: UPath) -> UPath | None:
    """The most recently written staged file of `folder` (module doc: files without a time, ties)."""
    stamps = staged_stamps(folder)
    if not stamps:
        return None
    name = max(stamps, key=lambda n: (-float("inf") if stamps[n] is None else stamps[n], n))
    return folder / name


def prune(folder: UPath, keep_seconds: float, spared: str) -> None:
    """Remove the staged files of `folder` older than `keep_seconds`, except the one named `spared`."""
    cutoff = time.time() - keep_seconds
    for name, stamp in staged_stamps(folder).items():
        if name != spared and stamp is not None and stamp < cutoff:
            (folder / name).unlink(missing_ok=True)  # another run may have pruned it first


def modified_at(info: Mapping[str, Any]) -> float | None:
    """The modification time (POSIX seconds) of a file's fsspec `info()`, whatever its key and type."""
    for key in MODIFIED_KEYS:
        value = info.get(key)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                continue
        if isinstance(value, dt.datetime):
            return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    return None

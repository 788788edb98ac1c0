"""`drift_findings` (schema.py, migration 3) and the drift report's runs, on either audit backend.

Why functions over either store rather than one more method pair per backend: every read here is plain
SQL both backends answer alike through `store.query` (`?` placeholders), and the findings of a run are few
(thousands at most), so one parametrized INSERT per row, sent in one batch, serves both (`_insert`). The
module imports neither backend, so the synced states of both can use it.

A drift run keeps its row in `sync_runs` (job `mailchimp_drift`): `window_start` is the
`since_last_changed` it read from (NULL: the whole audience), `window_end` the watermark the next run
reads from, and `counts` its findings per kind plus the audience and store totals it saw (the next run's
deletion check, sync/drift.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import pandas as pd

from jde_mc_pipeline.mapping.outcomes import SUCCESSFUL


class AnyAuditStore(Protocol):
    """What these functions use of a store of either backend (audit/backends.py `AnyAuditStore`)."""

    read_only: bool

    def query(self, sql: str, params: Any = ()) -> pd.DataFrame: ...

    def connect(self) -> Any: ...


DRIFT_JOB = "mailchimp_drift"
FINDING_COLUMNS = ("an8", "target", "kind", "field", "ours", "theirs", "target_key")
"""The columns of a findings frame (the relation adds run_id, found_at, resend and resolved_by)."""
RELATION_COLUMNS = ("run_id", *FINDING_COLUMNS[:6], "found_at", "target_key", "resend", "resolved_by")

UNSUBSCRIBED, CLEANED, PENDING, ARCHIVED = "unsubscribed", "cleaned", "pending", "archived"
DELETED = "deleted"
MERGE_FIELD_CHANGED = "merge_field_changed"
TAG_REMOVED = "tag_removed"
TAG_READDED = "tag_readded"
CUSTOMER_MISSING = "customer_missing"
STATUS_KINDS = (UNSUBSCRIBED, CLEANED, PENDING, ARCHIVED)
KINDS = (*STATUS_KINDS, DELETED, MERGE_FIELD_CHANGED, TAG_REMOVED, TAG_READDED, CUSTOMER_MISSING)
"""Every kind of finding (sync/drift.py says what each means)."""
RESENDABLE = (MERGE_FIELD_CHANGED, TAG_REMOVED, TAG_READDED, CUSTOMER_MISSING)
"""The kinds `JDE_MC_RESEND_DRIFTED` repairs: owned fields only, never a status."""


@dataclass(frozen=True)
class DriftMark:
    """What the last succeeded drift run left for the next: its watermark and the totals it saw."""

    watermark: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "an8" else object) for c in FINDING_COLUMNS})


def last_mark(store: AnyAuditStore) -> DriftMark:
    """The newest succeeded drift run's watermark and counts (none yet: an empty mark)."""
    frame = store.query(
        "SELECT window_end, CAST(counts AS VARCHAR) AS counts FROM sync_runs "
        "WHERE job = ? AND status = 'succeeded' AND window_end IS NOT NULL "
        "ORDER BY window_end DESC LIMIT 1",
        [DRIFT_JOB],
    )
    if frame.empty:
        return DriftMark()
    stamp = pd.Timestamp(frame["window_end"].iloc[0])
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    counts = json.loads(frame["counts"].iloc[0] or "{}")
    return DriftMark(stamp.to_pydatetime(), {k: int(v) for k, v in counts.items()})


def open_findings(store: AnyAuditStore) -> pd.DataFrame:
    """Every finding not yet resolved: FINDING_COLUMNS plus run_id and found_at (UTC)."""
    frame = store.query(
        "SELECT run_id, an8, target, kind, field, ours, theirs, target_key, found_at "
        "FROM drift_findings WHERE resolved_by IS NULL ORDER BY found_at, an8"
    )
    if frame.empty:
        return pd.DataFrame(columns=["run_id", *FINDING_COLUMNS, "found_at"])
    frame["an8"] = frame["an8"].astype("int64")
    frame["found_at"] = pd.to_datetime(frame["found_at"], utc=True)
    return frame


def record_findings(
    store: AnyAuditStore, run_id: str, findings: pd.DataFrame, *, resend: bool = False
) -> int:
    """Keep the findings of drift run `run_id` (FINDING_COLUMNS); returns the rows written. `resend`
    (`JDE_MC_RESEND_DRIFTED`): mark the RESENDABLE ones for the next sync to repair."""
    if findings.empty:
        return 0
    now = datetime.now(UTC)
    batch = pd.DataFrame(
        {
            "run_id": run_id,
            "an8": findings["an8"].astype("int64").to_numpy(),
            **{c: [_text(v) for v in findings[c]] for c in ("target", "kind", "field", "ours", "theirs")},
            "found_at": now,
            "target_key": [_text(v) for v in findings["target_key"]],
            "resend": (findings["kind"].isin(RESENDABLE) & resend).to_numpy(dtype=bool),
            "resolved_by": None,
        }
    ).loc[:, list(RELATION_COLUMNS)]
    return _insert(store, batch)


def resolve_findings(store: AnyAuditStore, target: str, an8s: Iterable[int], resolved_by: str) -> int:
    """Set `resolved_by` on the open findings of these AN8s for `target` (their owned fields were sent
    again by sync run `resolved_by`); returns the rows resolved."""
    wanted = sorted({int(a) for a in an8s})
    if not wanted or store.read_only:
        return 0
    resolved = 0
    for start in range(0, len(wanted), 1000):  # bounded statements on either backend
        part = wanted[start : start + 1000]
        marks = ", ".join("?" for _ in part)
        found = store.query(
            f"SELECT count(*) AS n FROM drift_findings WHERE resolved_by IS NULL AND target = ? "
            f"AND an8 IN ({marks})",
            [target, *part],
        )
        store.query(
            f"UPDATE drift_findings SET resolved_by = ? WHERE resolved_by IS NULL AND target = ? "
            f"AND an8 IN ({marks})",
            [resolved_by, target, *part],
        )
        resolved += int(found["n"].iloc[0])
    return resolved


def resend_an8s(store: AnyAuditStore, target: str | None = None) -> set[int]:
    """The AN8s whose records the next sync sends again (`resend` findings not yet resolved, of `target`
    or of any), leaving out every AN8 with an open status or deletion finding: a contact that
    unsubscribed, bounced, was archived or deleted is never written to again by a repair.

    A read-only store made before migration 3 has no findings: none."""
    stopped = ", ".join(f"'{k}'" for k in (*STATUS_KINDS, DELETED))
    target_filter = "AND target = ?" if target is not None else ""
    sql = (
        f"SELECT DISTINCT an8 FROM drift_findings WHERE resend AND resolved_by IS NULL {target_filter} "
        f"AND an8 NOT IN (SELECT an8 FROM drift_findings WHERE resolved_by IS NULL AND kind IN ({stopped}))"
    )
    try:
        frame = store.query(sql, [target] if target is not None else [])
    except duckdb.CatalogException:
        if not store.read_only:
            raise
        return set()
    return {int(a) for a in frame["an8"]} if not frame.empty else set()


def forget_hashes(state: pd.DataFrame, an8s: set[int]) -> pd.DataFrame:
    """A state frame (STATE_COLUMNS) with the payload hash blanked on the records holding any of `an8s`:
    the mapping then finds their payload changed and the sync writes it again (owned fields only: a
    member payload never carries a status)."""
    if not an8s or state.empty:
        return state
    hit = [
        bool(an8s.intersection(group)) or int(holder) in an8s
        for holder, group in zip(state["an8"], state["an8s"], strict=True)
    ]
    if not any(hit):
        return state
    state = state.copy()
    state.loc[hit, "payload_hash"] = ""
    return state


def resolve_resent(store: AnyAuditStore, outcomes: pd.DataFrame, run_id: str | None) -> int:
    """Resolve, with `run_id`, the `resend` findings of the AN8s whose record this run wrote (outcomes
    created, updated or renamed: every AN8 of the record's group); returns the rows resolved."""
    if run_id is None or outcomes.empty or store.read_only:
        return 0
    resolved = 0
    written = outcomes.loc[outcomes["outcome"].isin(SUCCESSFUL)]
    for target, rows in written.groupby("target"):
        wanted = resend_an8s(store, str(target)) & {int(a) for a in rows["an8"]}
        resolved += resolve_findings(store, str(target), wanted, run_id)
    return resolved


def _insert(store: AnyAuditStore, batch: pd.DataFrame) -> int:
    marks = ", ".join("?" * len(RELATION_COLUMNS))
    sql = f"INSERT INTO drift_findings ({', '.join(RELATION_COLUMNS)}) VALUES ({marks})"
    rows = [tuple(_plain(v) for v in row) for row in batch.itertuples(index=False, name=None)]
    with store.connect() as conn:
        if isinstance(conn, duckdb.DuckDBPyConnection):
            conn.executemany(sql, rows)
        else:  # psycopg: its own placeholders, the rows pipelined
            with conn.cursor() as cursor:
                cursor.executemany(sql.replace("?", "%s"), rows)
    return len(rows)


def _plain(value: Any) -> Any:
    """numpy scalars as Python values (both drivers take those)."""
    return value.item() if hasattr(value, "item") else value


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value)

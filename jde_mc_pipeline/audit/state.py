"""The last synced state (mapping/changes.py `SyncedState`) kept in the audit store's `synced_state`.

Why in the audit file: change detection (`unchanged`), e-mail renames and lost tags all need to know
what the last *successful* write of each (target, AN8) left in Mailchimp, across processes and runs,
and the audit store is the one durable place every run already writes to.

Only `created`, `updated` and `renamed` advance the state, and an AN8 merged into another holder never
gets a row, so it can never trigger a rename of someone else's member. A `failed` record is sent
again by replay and by the next run. A `rejected:<title>` record (refused for good) is remembered in
`synced_rejections` (its hash, title and run) so that the same payload is not sent again
(`last_rejected`, mapping.md §5); a later success of the AN8 forgets it. A refusal because another
record already holds the e-mail ("... already exists") is not remembered: it depends on that other
record, not on the payload, and ends when the other party lets the e-mail go. Every read and write
opens a short connection (store.py), so the state is never held across a step. A read-only store (dry
runs) can read an audit file made before `synced_state` or `synced_rejections` existed: it then holds
no state (no refusal).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mapping.changes import (
    REJECTION_COLUMNS,
    STATE_COLUMNS,
    empty_rejection_frame,
    empty_state_frame,
)
from jde_mc_pipeline.mapping.options import LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import REJECTED_PREFIX

SUCCESSFUL_OUTCOMES: tuple[str, ...] = ("created", "updated", "renamed")
HELD_ELSEWHERE = "already exists"
"""In a refusal's reason: another record holds the e-mail; not a refusal of the payload itself."""


class DuckDBSyncedState:
    """`SyncedState` over the `synced_state` relation of an `AuditStore`."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    # -- SyncedState --------------------------------------------------------------------------------

    def last_synced(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        wanted = pd.DataFrame({"an8": pd.unique(np.asarray(an8s, dtype=np.int64))})
        if wanted.empty:
            return empty_state_frame()
        return self._select(target, wanted, "an8")

    def holders_of(self, target: str, emails: Sequence[str] | np.ndarray) -> pd.DataFrame:
        wanted = pd.DataFrame({"email": pd.unique(np.asarray(emails, dtype=object))})
        if wanted.empty:
            return empty_state_frame()
        return self._select(target, wanted, "email")

    def _select(self, target: str, wanted: pd.DataFrame, column: str) -> pd.DataFrame:
        with self.store.connect() as conn:
            conn.register("wanted", wanted)
            try:
                frame = conn.execute(
                    f"""
                    SELECT s.an8, s.target_key, s.email, s.payload_hash, s.tags
                    FROM synced_state s JOIN wanted w ON s.{column} = w.{column}
                    WHERE s.target = ?
                    ORDER BY s.an8
                    """,
                    [target],
                ).fetchdf()
            except duckdb.CatalogException:
                if self.store.read_only:  # an audit file from before synced_state: nothing synced yet
                    return empty_state_frame()
                raise
        if frame.empty:
            return empty_state_frame()
        frame["an8"] = frame["an8"].astype(np.int64)
        frame["tags"] = [tuple(tags) if tags is not None else () for tags in frame["tags"]]
        return frame.loc[:, list(STATE_COLUMNS)]

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        wanted = pd.DataFrame({"an8": pd.unique(np.asarray(an8s, dtype=np.int64))})
        if wanted.empty:
            return empty_rejection_frame()
        with self.store.connect() as conn:
            conn.register("wanted", wanted)
            try:
                frame = conn.execute(
                    """
                    SELECT r.an8, r.payload_hash, r.title, r.run_id
                    FROM synced_rejections r JOIN wanted w ON r.an8 = w.an8
                    WHERE r.target = ?
                    ORDER BY r.an8
                    """,
                    [target],
                ).fetchdf()
            except duckdb.CatalogException:
                if self.store.read_only:  # an audit file from before synced_rejections: none remembered
                    return empty_rejection_frame()
                raise
        if frame.empty:
            return empty_rejection_frame()
        frame["an8"] = frame["an8"].astype(np.int64)
        frame["run_id"] = frame["run_id"].astype(object).where(frame["run_id"].notna(), None)
        return frame.loc[:, list(REJECTION_COLUMNS)]

    # -- advancing ----------------------------------------------------------------------------------

    def record_outcomes(
        self, outcomes: pd.DataFrame, result: Any = None, *, run_id: str | None = None
    ) -> int:
        """Advance the state for the rows that were written successfully and remember the payloads
        refused for good; returns the rows advanced (successes).

        `outcomes` are pushed outcome rows (sync/pipeline.py `push_*` or replay): an8, target,
        target_key, outcome, reason, payload_hash, payload (the record sent, as a dict or JSON text).
        The e-mail and the active owned tags come from `payload`; rows without one are looked up in
        `result` (a `MappingResult`) by their key. Rows of other outcomes (`failed`) are ignored.
        """
        if outcomes.empty or self.store.read_only:
            return 0
        outcome = outcomes["outcome"].astype(str)
        reason = outcomes.get("reason", pd.Series("", index=outcomes.index)).fillna("").astype(str)
        rejected = outcome.str.startswith(REJECTED_PREFIX) & outcomes["payload_hash"].notna()
        rejected &= ~reason.str.contains(HELD_ELSEWHERE, regex=False)
        kept = outcomes.loc[outcome.isin(SUCCESSFUL_OUTCOMES) | rejected]
        kept = kept.drop_duplicates(["target", "an8"], keep="last")  # the newest answer per record
        if kept.empty:
            return 0
        success = kept["outcome"].isin(SUCCESSFUL_OUTCOMES)
        batch = self._advanced(kept.loc[success], result, run_id)
        refused = pd.DataFrame(
            {
                "target": kept.loc[~success, "target"].astype(str),
                "an8": kept.loc[~success, "an8"].astype(np.int64),
                "payload_hash": kept.loc[~success, "payload_hash"].astype(str),
                "title": kept.loc[~success, "outcome"].str.slice(len(REJECTED_PREFIX)),
                "run_id": run_id,
                "rejected_at": datetime.now(UTC),
            }
        )
        with self.store.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            if len(batch):
                conn.register("advanced", batch)
                conn.execute(
                    """
                    INSERT INTO synced_state
                    SELECT target, an8, target_key, email, payload_hash, CAST(tags AS VARCHAR[]), run_id,
                           synced_at
                    FROM advanced
                    ON CONFLICT (target, an8) DO UPDATE SET
                        target_key = excluded.target_key, email = excluded.email,
                        payload_hash = excluded.payload_hash, tags = excluded.tags,
                        run_id = excluded.run_id, synced_at = excluded.synced_at
                    """
                )
                conn.execute(
                    """
                    DELETE FROM synced_rejections r USING advanced a
                    WHERE r.target = a.target AND r.an8 = a.an8
                    """
                )
            if len(refused):
                conn.register("refused", refused)
                conn.execute(
                    """
                    INSERT INTO synced_rejections
                    SELECT target, an8, payload_hash, title, run_id, rejected_at FROM refused
                    ON CONFLICT (target, an8) DO UPDATE SET
                        payload_hash = excluded.payload_hash, title = excluded.title,
                        run_id = excluded.run_id, rejected_at = excluded.rejected_at
                    """
                )
            conn.execute("COMMIT")
        return len(batch)

    @staticmethod
    def _advanced(done: pd.DataFrame, result: Any, run_id: str | None) -> pd.DataFrame:
        """The `synced_state` rows of the successful writes."""
        rows = []
        for row in done.itertuples(index=False):
            payload = _payload_of(row, result)
            if payload is None:
                raise ValueError(f"no payload for AN8 {row.an8} ({row.target}): cannot advance the state")
            tags = list(payload.get("tags_active") or ()) if row.target == LIST_MEMBER else []
            rows.append(
                (
                    row.target,
                    int(row.an8),
                    str(row.target_key),
                    str(payload["email_address"]).strip().lower(),
                    str(row.payload_hash),
                    tags,
                )
            )
        batch = pd.DataFrame(rows, columns=["target", "an8", "target_key", "email", "payload_hash", "tags"])
        batch["run_id"] = run_id
        batch["synced_at"] = datetime.now(UTC)
        return batch

    def count(self) -> dict[str, int]:
        """Rows per target (for run metadata and tests)."""
        with self.store.connect() as conn:
            try:
                rows = conn.execute("SELECT target, count(*) FROM synced_state GROUP BY target").fetchall()
            except duckdb.CatalogException:
                return {}
        return {target: int(n) for target, n in rows}


def _payload_of(row: Any, result: Any) -> dict[str, Any] | None:
    payload = getattr(row, "payload", None)
    if isinstance(payload, str) and payload:
        return json.loads(payload)
    if isinstance(payload, dict):
        return payload
    if result is None:
        return None
    frame = result.payloads(row.target)
    match = frame.loc[frame["key"] == str(row.an8)]
    if match.empty:
        return None
    first = match.iloc[0]
    return {"email_address": first["email_address"], "tags_active": first.get("tags_active", ())}

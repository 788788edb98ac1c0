"""The last synced state (mapping/changes.py `SyncedState`) kept in the audit store's `synced_state`.

Why in the audit file: change detection (`unchanged`), e-mail renames and lost tags all need to know
what the last *successful* write of each (target, AN8) left in Mailchimp, across processes and runs,
and the audit store is the one durable place every run already writes to.

Only `created`, `updated` and `renamed` advance the state: a `rejected` or `failed` record is sent
again when its party next changes (or by replay), and an AN8 merged into another holder never gets a
row, so it can never trigger a rename of someone else's member. Every read and write opens a short
connection (store.py), so the state is never held across a step. A read-only store (dry runs) can
read an audit file made before `synced_state` existed: it then holds no state.
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
from jde_mc_pipeline.mapping.changes import STATE_COLUMNS, empty_state_frame
from jde_mc_pipeline.mapping.options import LIST_MEMBER

SUCCESSFUL_OUTCOMES: tuple[str, ...] = ("created", "updated", "renamed")


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

    # -- advancing ----------------------------------------------------------------------------------

    def record_outcomes(
        self, outcomes: pd.DataFrame, result: Any = None, *, run_id: str | None = None
    ) -> int:
        """Advance the state for the rows that were written successfully; returns the rows stored.

        `outcomes` are pushed outcome rows (sync/pipeline.py `push_*` or replay): an8, target,
        target_key, outcome, payload_hash, payload (the record sent, as a dict or JSON text). The
        e-mail and the active owned tags come from `payload`; rows without one are looked up in
        `result` (a `MappingResult`) by their key. Rows of other outcomes are ignored.
        """
        if outcomes.empty or self.store.read_only:
            return 0
        done = outcomes.loc[outcomes["outcome"].isin(SUCCESSFUL_OUTCOMES)]
        if done.empty:
            return 0
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
        batch = batch.drop_duplicates(["target", "an8"], keep="last")
        batch["run_id"] = run_id
        batch["synced_at"] = datetime.now(UTC)
        with self.store.connect() as conn:
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
        return len(batch)

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

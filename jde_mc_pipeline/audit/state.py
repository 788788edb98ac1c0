"""The last synced state (mapping/changes.py `SyncedState`) kept in the audit store.

Why in the audit file: change detection (`unchanged`), renames, lost tags, shared e-mails across runs
and parties leaving scope all need to know what the last *successful* write of each record left in
Mailchimp, across processes and runs, and the audit store is the one durable place every run already
writes to.

How outcomes advance it (`record_outcomes`), one rule per kind of outcome row:
- `created`, `updated`, `renamed`: the record's row is replaced by the holder's: every row of the
  record's group AN8s, of the same target key or e-mail, and of the records this write retired (the
  renamed-from member, the old customers deleted) goes, the new one comes in. A record therefore has
  one row, and an AN8 is in at most one record's group per target. Departures and refusals of the
  group's AN8s are forgotten.
- `rejected:<title>` (refused for good): remembered in `synced_rejections` (hash, title, run) so that
  the same payload is not sent again (docs/mapping.md). A refusal because another record already holds
  the e-mail ("... already exists") is not remembered: it depends on that other record, not on the
  payload.
- `left_scope:<reason>`: the AN8 is remembered in `synced_departures` with the action taken (`kept`
  when another party keeps the record: a decided outcome, without payload); when the departure was
  applied to the record itself (its payload says `record_removed`), the record's row goes.
- `failed` and the decided outcomes change nothing: a failed record is sent again by replay and by the
  next run.

Records that a drift run marked for a repair (`drift_findings.resend`, audit/drift.py) are read without
their payload hash, so that the mapping sends their owned fields again; the advance that records such a
write resolves those findings.

Every read and write opens a short connection (store.py), so the state is never held across a step. A
read-only store (dry runs) can read an audit file made before a relation existed: it then holds no state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.drift import forget_hashes, resend_an8s, resolve_resent
from jde_mc_pipeline.audit.store import MEMORY, AuditStore
from jde_mc_pipeline.mapping.changes import (
    DEPARTURE_COLUMNS,
    REJECTION_COLUMNS,
    STATE_COLUMNS,
    email_hash,
    empty_departure_frame,
    empty_rejection_frame,
    empty_state_frame,
)
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import LEFT_SCOPE_PREFIX, REJECTED_PREFIX, SUCCESSFUL
from jde_mc_pipeline.mapping.state_diff import RECORD_KEPT

HELD_ELSEWHERE = "already exists"
"""In a refusal's reason: another record holds the e-mail; not a refusal of the payload itself."""


class DuckDBSyncedState:
    """`SyncedState` over the `synced_state`, `synced_rejections` and `synced_departures` relations."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    # -- SyncedState --------------------------------------------------------------------------------

    def records(
        self, target: str, an8s: Sequence[int] | np.ndarray, emails: Sequence[str] | np.ndarray = ()
    ) -> pd.DataFrame:
        wanted_an8 = pd.DataFrame({"an8": pd.unique(np.asarray(an8s, dtype=np.int64))})
        wanted_email = pd.DataFrame({"email": pd.unique(np.asarray(emails, dtype=object)).astype(str)})
        if wanted_an8.empty and wanted_email.empty:
            return empty_state_frame()
        sql = """
            WITH grp AS (SELECT an8 AS holder, unnest({group}) AS member FROM synced_state WHERE target = ?),
            hit AS (
                SELECT s.an8, s.email FROM synced_state s
                WHERE s.target = ? AND (
                    s.email IN (SELECT email FROM wanted_email)
                    OR s.an8 IN (SELECT an8 FROM wanted_an8)
                    OR s.an8 IN (SELECT g.holder FROM grp g JOIN wanted_an8 w ON g.member = w.an8)))
            SELECT s.an8, s.target_key, s.email, s.payload_hash, s.tags, {group} AS an8s
            FROM synced_state s
            WHERE s.target = ? AND (s.an8 IN (SELECT an8 FROM hit) OR s.email IN (SELECT email FROM hit))
            ORDER BY s.an8
        """
        with self._reading("synced_state") as conn:
            if conn is None:
                return empty_state_frame()
            conn.register("wanted_an8", wanted_an8)
            conn.register("wanted_email", wanted_email)
            frame = conn.execute(sql.format(group=_group_column(conn)), [target] * 3).fetchdf()
        return forget_hashes(state_frame(frame), resend_an8s(self.store, target))

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        frame = self._by_an8(
            "synced_rejections",
            "SELECT r.an8, r.payload_hash, r.title, r.run_id FROM synced_rejections r "
            "JOIN wanted w ON r.an8 = w.an8 WHERE r.target = ? ORDER BY r.an8",
            target,
            an8s,
        )
        if frame is None or frame.empty:
            return empty_rejection_frame()
        frame["run_id"] = frame["run_id"].astype(object).where(frame["run_id"].notna(), None)
        return frame.loc[:, list(REJECTION_COLUMNS)]

    def departed(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        frame = self._by_an8(
            "synced_departures",
            "SELECT d.an8, d.reason, d.action, d.run_id FROM synced_departures d "
            "JOIN wanted w ON d.an8 = w.an8 WHERE d.target = ? ORDER BY d.an8",
            target,
            an8s,
        )
        if frame is None or frame.empty:
            return empty_departure_frame()
        return frame.loc[:, list(DEPARTURE_COLUMNS)]

    def _by_an8(
        self, relation: str, sql: str, target: str, an8s: Sequence[int] | np.ndarray
    ) -> pd.DataFrame | None:
        wanted = pd.DataFrame({"an8": pd.unique(np.asarray(an8s, dtype=np.int64))})
        if wanted.empty:
            return None
        with self._reading(relation) as conn:
            if conn is None:
                return None
            conn.register("wanted", wanted)
            frame = conn.execute(sql, [target]).fetchdf()
        frame["an8"] = frame["an8"].astype(np.int64)
        return frame

    @contextmanager
    def _reading(self, relation: str) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A connection, or None when a read-only file predates the relation (nothing of it then)."""
        with self.store.connect() as conn:
            try:
                conn.execute(f"SELECT * FROM {relation} LIMIT 0")
            except duckdb.CatalogException:
                if not self.store.read_only:
                    raise
                yield None
                return
            yield conn

    # -- other readers ------------------------------------------------------------------------------

    def legacy_customers(self) -> pd.DataFrame:
        """Customer records written under an id that is not their e-mail's hash (the AN8, before ids were
        derived from the e-mail): STATE_COLUMNS. The next sync pulls their parties and moves them."""
        with self._reading("synced_state") as conn:
            if conn is None:
                return empty_state_frame()
            frame = conn.execute(
                f"SELECT an8, target_key, email, payload_hash, tags, {_group_column(conn)} AS an8s "
                "FROM synced_state WHERE target = ? AND target_key <> md5(lower(email)) ORDER BY an8",
                [ECOMMERCE_CUSTOMER],
            ).fetchdf()
        return state_frame(frame)

    def held_keys(self, target: str, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` of records the state holds: what the connector wrote and still owns, so
        the customer writes need not ask Mailchimp whether they exist (mailchimp/ecommerce.py)."""
        wanted = pd.DataFrame({"target_key": pd.unique(np.asarray(keys, dtype=object)).astype(str)})
        if wanted.empty:
            return set()
        with self._reading("synced_state") as conn:
            if conn is None:
                return set()
            conn.register("wanted", wanted)
            rows = conn.execute(
                "SELECT s.target_key FROM synced_state s JOIN wanted w ON s.target_key = w.target_key "
                "WHERE s.target = ?",
                [target],
            ).fetchall()
        return {key for (key,) in rows}

    def synced_an8s(self) -> pd.DataFrame:
        """Every AN8 the state knows, per target: `target`, `an8` (a holder or folded in), `holder`."""
        with self._reading("synced_state") as conn:
            if conn is None:
                return pd.DataFrame({"target": [], "an8": [], "holder": []})
            return conn.execute(
                f"SELECT target, unnest({_group_column(conn)}) AS an8, an8 AS holder FROM synced_state "
                "ORDER BY target, an8"
            ).fetchdf()

    def count(self) -> dict[str, int]:
        """Records per target (for run metadata and the dry run)."""
        with self._reading("synced_state") as conn:
            if conn is None:
                return {}
            rows = conn.execute("SELECT target, count(*) FROM synced_state GROUP BY target").fetchall()
        return {target: int(n) for target, n in rows}

    # -- advancing ----------------------------------------------------------------------------------

    def record_outcomes(self, outcomes: pd.DataFrame, *, run_id: str | None = None) -> int:
        """Advance the state from outcome rows (module doc); returns the records written.

        `outcomes` are outcome rows as the sync records them: an8, target, target_key, outcome, reason,
        payload_hash, payload (the record sent, a dict or JSON text, None for decided outcomes).
        """
        if outcomes.empty or self.store.read_only:
            return 0
        written, refused, departed = state_changes(outcomes, run_id)
        with self.store.connect() as conn:
            conn.execute("BEGIN TRANSACTION")
            if len(departed):
                conn.register("departed", departed)
                conn.execute(
                    """
                    DELETE FROM synced_state s USING departed d
                    WHERE s.target = d.target AND s.target_key = d.target_key AND d.record_removed
                    """
                )
                conn.execute(
                    """
                    INSERT OR REPLACE INTO synced_departures
                    SELECT target, an8, reason, action, target_key, run_id, stamped_at FROM departed
                    """
                )
            if len(written):
                _write_records(conn, written)
            if len(refused):
                conn.register("refused", refused)
                conn.execute(
                    """
                    INSERT OR REPLACE INTO synced_rejections
                    SELECT target, an8, payload_hash, title, run_id, stamped_at FROM refused
                    """
                )
            conn.execute("COMMIT")
        resolve_resent(self.store, outcomes, run_id)
        return len(written)


def _write_records(conn: duckdb.DuckDBPyConnection, written: pd.DataFrame) -> None:
    """Replace the rows of each written record (module doc); the AN8s folded into it leave the groups of
    other records; their departures and refusals are forgotten.

    Every match is an equality join on one column (e-mail, key, retired key, group member), never one
    join on an OR of conditions: DuckDB runs the latter as a nested loop, which at 100,000 records
    written over 100,000 held would be ten billion comparisons.
    """
    conn.register("written_rows", written)
    # Lists travel as JSON text: DuckDB guesses a list column's type from its first rows, and a run
    # whose first records carry no tag (customers) would make it a list of NULL.
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE written AS
        SELECT target, an8, target_key, email, payload_hash, run_id, stamped_at,
               CAST(CAST(tags AS JSON) AS VARCHAR[]) AS tags, CAST(CAST(an8s AS JSON) AS BIGINT[]) AS an8s,
               CAST(CAST(retired AS JSON) AS VARCHAR[]) AS retired
        FROM written_rows
        """
    )
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE moved AS
        SELECT DISTINCT target, unnest(an8s) AS an8 FROM written
        """
    )
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE rewritten AS
        SELECT s.target, s.an8 FROM synced_state s JOIN written w ON s.target = w.target AND s.email = w.email
        UNION SELECT s.target, s.an8 FROM synced_state s
              JOIN written w ON s.target = w.target AND s.target_key = w.target_key
        UNION SELECT s.target, s.an8 FROM synced_state s
              JOIN (SELECT target, unnest(retired) AS target_key FROM written) r
              ON s.target = r.target AND s.target_key = r.target_key
        """
    )
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE gone AS
        SELECT target, an8 FROM rewritten
        UNION SELECT s.target, s.an8 FROM synced_state s JOIN moved m ON s.target = m.target AND s.an8 = m.an8
        """
    )
    # A record whose holder moved to another record, and which nobody rewrites, stays with the AN8s
    # still folded into it (the lowest becomes its holder): their departure must still find it.
    conn.execute(
        """
        CREATE OR REPLACE TEMP TABLE reheld AS
        SELECT s.target, k.an8s[1] AS an8, s.target_key, s.email, s.payload_hash, s.tags, s.run_id,
               s.synced_at, k.an8s
        FROM synced_state s
        JOIN (
            SELECT u.target, u.holder, list(u.a ORDER BY u.a) AS an8s
            FROM (SELECT target, an8 AS holder, unnest(an8s) AS a FROM synced_state) u
            WHERE (u.target, u.holder) IN (SELECT (target, an8) FROM moved)
              AND (u.target, u.holder) NOT IN (SELECT (target, an8) FROM rewritten)
              AND (u.target, u.a) NOT IN (SELECT (target, an8) FROM moved)
            GROUP BY u.target, u.holder
        ) k ON s.target = k.target AND s.an8 = k.holder
        """
    )
    conn.execute("DELETE FROM synced_state WHERE (target, an8) IN (SELECT (target, an8) FROM gone)")
    conn.execute(
        """
        INSERT INTO synced_state (target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s)
        SELECT target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s FROM reheld r
        WHERE (r.target, r.an8) NOT IN (SELECT (target, an8) FROM synced_state)
        """
    )
    conn.execute(
        """
        UPDATE synced_state s SET an8s = kept.an8s
        FROM (
            SELECT u.target, u.holder, list(u.an8 ORDER BY u.an8) AS an8s
            FROM (SELECT target, an8 AS holder, unnest(an8s) AS an8 FROM synced_state) u
            WHERE (u.target, u.holder) IN (
                SELECT (g.target, g.holder)
                FROM (SELECT target, an8 AS holder, unnest(an8s) AS an8 FROM synced_state) g
                JOIN moved m ON g.target = m.target AND g.an8 = m.an8)
              AND (u.target, u.an8) NOT IN (SELECT (target, an8) FROM moved)
            GROUP BY u.target, u.holder
        ) kept
        WHERE s.target = kept.target AND s.an8 = kept.holder
        """
    )
    conn.execute(
        """
        INSERT INTO synced_state (target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s)
        SELECT target, an8, target_key, email, payload_hash, tags, run_id, stamped_at, an8s FROM written
        """
    )
    for relation in ("synced_departures", "synced_rejections"):
        conn.execute(f"DELETE FROM {relation} WHERE (target, an8) IN (SELECT (target, an8) FROM moved)")
    for table in ("written", "moved", "rewritten", "gone", "reheld"):
        conn.execute(f"DROP TABLE {table}")


def _group_column(conn: duckdb.DuckDBPyConnection) -> str:
    """`an8s`, or the holder alone in a read-only file written before groups were recorded."""
    found = conn.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_name = 'synced_state' AND column_name = 'an8s'"
    ).fetchone()
    return "an8s" if found and found[0] else "[an8]"


def state_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A state frame (STATE_COLUMNS) from a query's result: tuples for tags and groups."""
    if frame.empty:
        return empty_state_frame()
    frame["an8"] = frame["an8"].astype(np.int64)
    frame["tags"] = [tuple(tags) if tags is not None else () for tags in frame["tags"]]
    frame["an8s"] = [
        tuple(int(a) for a in group) if group is not None and len(group) else (int(holder),)
        for group, holder in zip(frame["an8s"], frame["an8"], strict=True)
    ]
    return frame.loc[:, list(STATE_COLUMNS)]


def state_changes(
    outcomes: pd.DataFrame, run_id: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(records written, refusals to remember, departures) from outcome rows (module doc)."""
    now = datetime.now(UTC)
    outcome = outcomes["outcome"].astype(str)
    reason = (
        outcomes["reason"].fillna("").astype(str) if "reason" in outcomes else pd.Series("", outcomes.index)
    )
    # Parsed one at a time: the initial load's 81,400 payloads parsed at once held 150 MB of dicts
    payloads = (_payload(p) for p in outcomes["payload"]) if "payload" in outcomes else [None] * len(outcomes)
    written, refused, departed = [], [], []
    for row, text, why, payload in zip(
        outcomes.itertuples(index=False), outcome, reason, payloads, strict=True
    ):
        if text in SUCCESSFUL:
            if payload is None:
                raise ValueError(f"no payload for AN8 {row.an8} ({row.target}): cannot advance the state")
            written.append(_written(row, payload, run_id, now))
        elif text.startswith(REJECTED_PREFIX) and isinstance(row.payload_hash, str) and payload is not None:
            if HELD_ELSEWHERE not in why:  # (a refusal decided again, without payload, is not news)
                refused.append(
                    (row.target, int(row.an8), row.payload_hash, text[len(REJECTED_PREFIX) :], run_id, now)
                )
        elif text.startswith(LEFT_SCOPE_PREFIX):
            payload = payload or {}
            departed.append(
                (
                    row.target,
                    int(row.an8),
                    text[len(LEFT_SCOPE_PREFIX) :],
                    str(payload.get("action") or RECORD_KEPT),
                    payload.get("target_key")
                    or (row.target_key if isinstance(row.target_key, str) else None),
                    bool(payload.get("record_removed")),
                    run_id,
                    now,
                )
            )
    written_frame = pd.DataFrame(
        written,
        columns=[
            "target",
            "an8",
            "target_key",
            "email",
            "payload_hash",
            "tags",
            "an8s",
            "retired",
            "run_id",
            "stamped_at",
        ],
    ).drop_duplicates(["target", "target_key"], keep="last")
    refused_frame = pd.DataFrame(
        refused, columns=["target", "an8", "payload_hash", "title", "run_id", "stamped_at"]
    ).drop_duplicates(["target", "an8"], keep="last")
    departed_frame = pd.DataFrame(
        departed,
        columns=["target", "an8", "reason", "action", "target_key", "record_removed", "run_id", "stamped_at"],
    ).drop_duplicates(["target", "an8"], keep="last")
    return written_frame, refused_frame, departed_frame


def _written(row: Any, payload: dict[str, Any], run_id: str | None, now: datetime) -> tuple:
    """The `synced_state` row of one successful write, with the target keys it retired."""
    email = str(payload["email_address"]).strip().lower()
    an8s = [int(a) for a in payload.get("an8s") or ()] or [int(row.an8)]
    retired = [str(key) for key in payload.get("retires") or ()]
    if row.target == LIST_MEMBER:
        tags = [str(tag) for tag in payload.get("tags_active") or ()]
        if payload.get("previous_email"):
            retired.append(email_hash(str(payload["previous_email"])))
    else:
        tags = []
    lists = (json.dumps(tags), json.dumps(an8s), json.dumps(retired))
    return (row.target, int(row.an8), str(row.target_key), email, str(row.payload_hash), *lists, run_id, now)


def _payload(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value:
        return json.loads(value)
    return value if isinstance(value, dict) else None


def memory_state() -> DuckDBSyncedState:
    """A state of its own in this process's memory (dry runs without an audit file, tests)."""
    return DuckDBSyncedState(AuditStore(MEMORY))

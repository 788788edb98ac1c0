"""The last synced state on PostgreSQL: `PostgresSyncedState`, the rules of audit/state.py (its module doc)
over the same three relations, ported statement by statement.

Why an advisory lock around advancing: two runs in different processes may advance the state at once, and
`_write_records` reads the rows it replaces (groups, holders) before it writes; under READ COMMITTED two
such transactions could each miss the other's rows and leave a record twice. `record_outcomes` therefore
serializes just its own transaction with `pg_advisory_xact_lock` (released at commit); it tries
`pg_try_advisory_xact_lock` first so that a wait is logged (one INFO line, as the DuckDB store logs its
lock waits). Every other write of the audit runs without it.

Why joins with `unnest(array)` for the wanted keys and `EXISTS` where audit/state.py says
`IN (SELECT (a, b) ...)`: PostgreSQL tests `= ANY(array)` row by row against the whole array, and plans
`NOT IN` over a subquery as a per-row scan once the subquery outgrows `work_mem`; a join and an anti-join
are hashed (50,000 AN8s looked up: 7 s with `= ANY`, a fraction of a second joined).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd
import psycopg

from jde_mc_pipeline.audit.drift import forget_hashes, resend_an8s, resolve_resent
from jde_mc_pipeline.audit.postgres.bulk import copy_frame
from jde_mc_pipeline.audit.postgres.store import PostgresAuditStore
from jde_mc_pipeline.audit.state import state_changes, state_frame
from jde_mc_pipeline.mapping.changes import (
    DEPARTURE_COLUMNS,
    REJECTION_COLUMNS,
    empty_departure_frame,
    empty_rejection_frame,
    empty_state_frame,
)
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER

log = logging.getLogger(__name__)
STATE_LOCK = 0x6A64656D63_02
"""The advisory lock key of advancing the synced state (an arbitrary constant of this application)."""


class PostgresSyncedState:
    """`SyncedState` over the `synced_state`, `synced_rejections` and `synced_departures` relations."""

    def __init__(self, store: PostgresAuditStore) -> None:
        self.store = store

    # -- SyncedState --------------------------------------------------------------------------------

    def records(
        self, target: str, an8s: Sequence[int] | np.ndarray, emails: Sequence[str] | np.ndarray = ()
    ) -> pd.DataFrame:
        wanted_an8 = pd.unique(np.asarray(an8s, dtype=np.int64)).tolist()
        wanted_email = pd.unique(np.asarray(emails, dtype=object)).astype(str).tolist()
        if not wanted_an8 and not wanted_email:
            return empty_state_frame()
        frame = self.store.query(
            """
            WITH wanted_an8 AS (SELECT DISTINCT unnest(?::bigint[]) AS an8),
            wanted_email AS (SELECT DISTINCT unnest(?::text[]) AS email),
            held AS (SELECT an8, email, an8s FROM synced_state WHERE target = ?),
            hit AS (
                SELECT s.an8, s.email FROM held s JOIN wanted_email w ON s.email = w.email
                UNION SELECT s.an8, s.email FROM held s JOIN wanted_an8 w ON s.an8 = w.an8
                UNION SELECT g.holder, g.email
                      FROM (SELECT an8 AS holder, email, unnest(an8s) AS member FROM held) g
                      JOIN wanted_an8 w ON g.member = w.an8),
            found AS (
                SELECT s.an8 FROM held s JOIN (SELECT DISTINCT an8 FROM hit) h ON s.an8 = h.an8
                UNION SELECT s.an8 FROM held s JOIN (SELECT DISTINCT email FROM hit) h ON s.email = h.email)
            SELECT s.an8, s.target_key, s.email, s.payload_hash, s.tags, s.an8s
            FROM synced_state s JOIN found f ON s.an8 = f.an8
            WHERE s.target = ?
            ORDER BY s.an8
            """,
            [wanted_an8, wanted_email, target, target],
        )
        return forget_hashes(state_frame(frame), resend_an8s(self.store, target))

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        frame = self._by_an8(
            "SELECT r.an8, r.payload_hash, r.title, r.run_id FROM synced_rejections r "
            "JOIN (SELECT DISTINCT unnest(?::bigint[]) AS an8) w ON r.an8 = w.an8 WHERE r.target = ? "
            "ORDER BY r.an8",
            target,
            an8s,
        )
        if frame.empty:
            return empty_rejection_frame()
        return frame.loc[:, list(REJECTION_COLUMNS)]

    def departed(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        frame = self._by_an8(
            "SELECT d.an8, d.reason, d.action, d.run_id FROM synced_departures d "
            "JOIN (SELECT DISTINCT unnest(?::bigint[]) AS an8) w ON d.an8 = w.an8 WHERE d.target = ? "
            "ORDER BY d.an8",
            target,
            an8s,
        )
        if frame.empty:
            return empty_departure_frame()
        return frame.loc[:, list(DEPARTURE_COLUMNS)]

    def _by_an8(self, sql: str, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        wanted = pd.unique(np.asarray(an8s, dtype=np.int64)).tolist()
        if not wanted:
            return pd.DataFrame()
        frame = self.store.query(sql, [wanted, target])
        if not frame.empty:
            frame["an8"] = frame["an8"].astype(np.int64)
        return frame

    # -- other readers ------------------------------------------------------------------------------

    def legacy_customers(self) -> pd.DataFrame:
        """Customer records written under an id that is not their e-mail's hash (audit/state.py)."""
        frame = self.store.query(
            "SELECT an8, target_key, email, payload_hash, tags, an8s FROM synced_state "
            "WHERE target = ? AND target_key <> md5(lower(email)) ORDER BY an8",
            [ECOMMERCE_CUSTOMER],
        )
        return state_frame(frame)

    def held_keys(self, target: str, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` of records the state holds (audit/state.py)."""
        wanted = pd.unique(np.asarray(keys, dtype=object)).astype(str).tolist()
        if not wanted:
            return set()
        frame = self.store.query(
            "SELECT s.target_key FROM synced_state s "
            "JOIN (SELECT DISTINCT unnest(?::text[]) AS target_key) w ON s.target_key = w.target_key "
            "WHERE s.target = ?",
            [wanted, target],
        )
        return set(frame["target_key"]) if not frame.empty else set()

    def synced_an8s(self) -> pd.DataFrame:
        """Every AN8 the state knows, per target: `target`, `an8` (a holder or folded in), `holder`."""
        frame = self.store.query(
            "SELECT target, unnest(an8s) AS an8, an8 AS holder FROM synced_state ORDER BY target, an8"
        )
        return frame if not frame.empty else pd.DataFrame({"target": [], "an8": [], "holder": []})

    def count(self) -> dict[str, int]:
        """Records per target (for run metadata and the dry run)."""
        frame = self.store.query("SELECT target, count(*) AS n FROM synced_state GROUP BY target")
        return {str(target): int(n) for target, n in frame.itertuples(index=False)} if not frame.empty else {}

    # -- advancing ----------------------------------------------------------------------------------

    def record_outcomes(self, outcomes: pd.DataFrame, *, run_id: str | None = None) -> int:
        """Advance the state from outcome rows (audit/state.py); returns the records written. One
        transaction, serialized with the other processes' advances by an advisory lock (module doc)."""
        if outcomes.empty or self.store.read_only:
            return 0
        written, refused, departed = state_changes(outcomes, run_id)
        with self.store.connect() as conn:
            _lock_state(conn, self.store.location)
            if len(departed):
                _staged(conn, "departed", DEPARTED_COLUMNS, departed)
                conn.execute(
                    """
                    DELETE FROM synced_state s USING departed d
                    WHERE s.target = d.target AND s.target_key = d.target_key AND d.record_removed
                    """
                )
                conn.execute(
                    """
                    INSERT INTO synced_departures
                    SELECT target, an8, reason, action, target_key, run_id, stamped_at FROM departed
                    ON CONFLICT (target, an8) DO UPDATE SET reason = excluded.reason,
                        action = excluded.action, target_key = excluded.target_key,
                        run_id = excluded.run_id, left_at = excluded.left_at
                    """
                )
            if len(written):
                _write_records(conn, written)
            if len(refused):
                _staged(conn, "refused", REFUSED_COLUMNS, refused)
                conn.execute(
                    """
                    INSERT INTO synced_rejections
                    SELECT target, an8, payload_hash, title, run_id, stamped_at FROM refused
                    ON CONFLICT (target, an8) DO UPDATE SET payload_hash = excluded.payload_hash,
                        title = excluded.title, run_id = excluded.run_id, rejected_at = excluded.rejected_at
                    """
                )
        resolve_resent(self.store, outcomes, run_id)
        return len(written)


DEPARTED_COLUMNS = (
    "target text, an8 bigint, reason text, action text, target_key text, record_removed boolean, "
    "run_id text, stamped_at timestamptz"
)
REFUSED_COLUMNS = (
    "target text, an8 bigint, payload_hash text, title text, run_id text, stamped_at timestamptz"
)
WRITTEN_COLUMNS = (
    "target text, an8 bigint, target_key text, email text, payload_hash text, tags text[], an8s bigint[], "
    "retired text[], run_id text, stamped_at timestamptz"
)
WRITTEN_NAMES = [column.split()[0] for column in WRITTEN_COLUMNS.split(", ")]
_TEXT_ARRAY = (
    r"""'{' || array_to_string(list_transform(CAST(CAST(COLUMN AS JSON) AS VARCHAR[]), """
    r"""lambda x: '"' || replace(replace(x, '\', '\\'), '"', '\"') || '"'), ',') || '}'"""
)
WRITTEN_SELECT = ", ".join(
    [
        "target, an8, target_key, email, payload_hash",
        _TEXT_ARRAY.replace("COLUMN", "tags"),
        "'{' || array_to_string(CAST(CAST(an8s AS JSON) AS BIGINT[]), ',') || '}'",
        _TEXT_ARRAY.replace("COLUMN", "retired"),
        "run_id, stamped_at",
    ]
)
"""DuckDB SQL of the staged written records: JSON lists as PostgreSQL array literals (each text element
double-quoted, its backslashes and quotes escaped)."""


def _lock_state(conn: psycopg.Connection, location: str) -> None:
    """Take the state's advisory lock for this transaction, logging a wait for another process's."""
    got = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", [STATE_LOCK]).fetchone()
    if got and got[0]:
        return
    log.info("audit database %s: synced state being advanced by another process: waiting", location)
    began = time.monotonic()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [STATE_LOCK])
    log.info(
        "audit database %s: waited %.2f s for the synced state's lock", location, time.monotonic() - began
    )


def _staged(conn: psycopg.Connection, name: str, columns: str, frame: pd.DataFrame) -> None:
    """`frame` COPYed into a temporary table dropped at commit."""
    conn.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
    copy_frame(conn, name, frame)
    conn.execute(f"ANALYZE {name}")


def _write_records(conn: psycopg.Connection, written: pd.DataFrame) -> None:
    """Replace the rows of each written record; the AN8s folded into it leave the groups of other records;
    their departures and refusals are forgotten (audit/state.py `_write_records`, the same steps).

    Lists travel as JSON text in the frame (audit/state.py `state_changes`); DuckDB, which renders the
    COPY, turns them into PostgreSQL array literals on the way (`WRITTEN_SELECT`)."""
    conn.execute(f"CREATE TEMP TABLE written ({WRITTEN_COLUMNS}) ON COMMIT DROP")
    copy_frame(conn, "written", written, WRITTEN_NAMES, WRITTEN_SELECT)
    steps = (
        "CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT DISTINCT target, unnest(an8s) AS an8 FROM written",
        """
        CREATE TEMP TABLE rewritten ON COMMIT DROP AS
        SELECT s.target, s.an8 FROM synced_state s JOIN written w ON s.target = w.target AND s.email = w.email
        UNION SELECT s.target, s.an8 FROM synced_state s
              JOIN written w ON s.target = w.target AND s.target_key = w.target_key
        UNION SELECT s.target, s.an8 FROM synced_state s
              JOIN (SELECT target, unnest(retired) AS target_key FROM written) r
              ON s.target = r.target AND s.target_key = r.target_key
        """,
        """
        CREATE TEMP TABLE gone ON COMMIT DROP AS
        SELECT target, an8 FROM rewritten
        UNION SELECT s.target, s.an8 FROM synced_state s JOIN moved m ON s.target = m.target AND s.an8 = m.an8
        """,
        "ANALYZE written",
        "ANALYZE moved",
        "ANALYZE rewritten",
        # A record whose holder moved to another record, and which nobody rewrites, stays with the AN8s
        # still folded into it (the lowest becomes its holder): their departure must still find it.
        """
        CREATE TEMP TABLE reheld ON COMMIT DROP AS
        SELECT s.target, k.an8s[1] AS an8, s.target_key, s.email, s.payload_hash, s.tags, s.run_id,
               s.synced_at, k.an8s
        FROM synced_state s
        JOIN (
            SELECT u.target, u.holder, array_agg(u.a ORDER BY u.a) AS an8s
            FROM (SELECT s.target, s.an8 AS holder, unnest(s.an8s) AS a
                  FROM synced_state s JOIN moved m ON s.target = m.target AND s.an8 = m.an8) u
            WHERE NOT EXISTS (SELECT 1 FROM rewritten r WHERE r.target = u.target AND r.an8 = u.holder)
              AND NOT EXISTS (SELECT 1 FROM moved m WHERE m.target = u.target AND m.an8 = u.a)
            GROUP BY u.target, u.holder
        ) k ON s.target = k.target AND s.an8 = k.holder
        """,
        "DELETE FROM synced_state s USING gone g WHERE s.target = g.target AND s.an8 = g.an8",
        """
        INSERT INTO synced_state (target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s)
        SELECT target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s FROM reheld r
        WHERE NOT EXISTS (SELECT 1 FROM synced_state s WHERE s.target = r.target AND s.an8 = r.an8)
        """,
        """
        WITH touched AS (
            SELECT DISTINCT g.target, g.holder
            FROM (SELECT target, an8 AS holder, unnest(an8s) AS an8 FROM synced_state) g
            JOIN moved m ON g.target = m.target AND g.an8 = m.an8
        )
        UPDATE synced_state s SET an8s = kept.an8s
        FROM (
            SELECT u.target, u.holder, array_agg(u.an8 ORDER BY u.an8) AS an8s
            FROM (SELECT s.target, s.an8 AS holder, unnest(s.an8s) AS an8
                  FROM synced_state s JOIN touched t ON s.target = t.target AND s.an8 = t.holder) u
            WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.target = u.target AND m.an8 = u.an8)
            GROUP BY u.target, u.holder
        ) kept
        WHERE s.target = kept.target AND s.an8 = kept.holder
        """,
        """
        INSERT INTO synced_state (target, an8, target_key, email, payload_hash, tags, run_id, synced_at, an8s)
        SELECT target, an8, target_key, email, payload_hash, tags, run_id, stamped_at, an8s FROM written
        """,
        "DELETE FROM synced_departures d USING moved m WHERE d.target = m.target AND d.an8 = m.an8",
        "DELETE FROM synced_rejections r USING moved m WHERE r.target = m.target AND r.an8 = m.an8",
    )
    for statement in steps:
        conn.execute(statement)

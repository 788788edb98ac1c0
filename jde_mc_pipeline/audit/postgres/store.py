"""`PostgresAuditStore`: the audit relations of docs/audit.md in a PostgreSQL database, the twin of
`AuditStore` (audit/store.py) for deployments whose runs live in separate containers.

Why it differs in how, not what: PostgreSQL's MVCC lets runs in different processes write at once and
readers never wait for writers, so there is no file lock to wait for and no short-connection dance; the
connections come from a per-process pool (connection.py), each write is one transaction, and bulk rows go
in by COPY (bulk.py). The schema is created and upgraded only by `jde-mc audit upgrade` (migrations.py):
opening a store on a database that is empty or behind raises `SchemaNotReadyError`, once per process and URL.
Timestamps always come from Python (`datetime.now(UTC)`), never from the server's `now()`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg

from jde_mc_pipeline.audit.postgres.bulk import copy_frame, copying, placeholders
from jde_mc_pipeline.audit.postgres.connection import connection, redacted
from jde_mc_pipeline.audit.postgres.migrations import require_current
from jde_mc_pipeline.audit.store import RUN_COLUMNS, _column, _json_or_none, _partition_keys
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import FAILED

PULL_COLUMNS = ("run_id", "table_name", "an8", "row_json", "pulled_at")
MAPPED_COLUMNS = ("run_id", "an8", "target", "field", "source_value", "mapped_value", "mapped_at")

_current: set[str] = set()
_current_lock = threading.Lock()


class PostgresAuditStore:
    """Reads and writes the audit relations of docs/audit.md in one PostgreSQL database."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """A store on the database of `url`, which must already be at this release's schema version
        (`jde-mc audit upgrade`). A read-only store's connections cannot write (dry runs)."""
        self.url = url
        self.read_only = read_only
        with _current_lock:
            checked = url in _current
        if not checked:
            require_current(url)
            with _current_lock:
                _current.add(url)

    @property
    def location(self) -> str:
        """The database, as metadata, logs and errors may show it: the URL without its password."""
        return redacted(self.url)

    def __repr__(self) -> str:
        return f"PostgresAuditStore({self.location!r}, read_only={self.read_only})"

    @contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """A pooled connection in one transaction, committed at the end of the block."""
        with connection(self.url, read_only=self.read_only) as conn:
            yield conn

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of one statement (`?` placeholders), as a frame: the read both backends answer alike
        (JSON columns come back as text, as DuckDB gives them)."""
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(placeholders(sql), list(params))
            if cursor.description is None:
                return pd.DataFrame()
            columns = [column.name for column in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=columns)

    def schema_version(self) -> int:
        """The newest migration recorded in the database."""
        frame = self.query("SELECT max(version) AS version FROM audit_schema_migrations")
        return int(frame["version"].iloc[0])

    # -- runs ---------------------------------------------------------------------------------------

    def start_run(
        self,
        run_id: str,
        job: str,
        partition_start: str | None = None,
        partition_end: str | None = None,
        window: tuple[datetime, datetime] | None = None,
        *,
        parent_run_id: str | None = None,
    ) -> None:
        """Record that a run began (again, if Dagster retries it: the row is replaced)."""
        updated = ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS.split(", ")[1:])
        with self.connect() as conn:
            conn.execute(
                f"INSERT INTO sync_runs ({RUN_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, 'started', NULL, %s) "
                f"ON CONFLICT (run_id) DO UPDATE SET {updated}",
                [
                    run_id,
                    job,
                    partition_start,
                    partition_end,
                    *(window or (None, None)),
                    _now(),
                    parent_run_id,
                ],
            )

    def has_run(self, run_id: str) -> bool:
        """Whether `sync_runs` has a row of `run_id`."""
        with self.connect() as conn:
            found = conn.execute("SELECT count(*) FROM sync_runs WHERE run_id = %s", [run_id]).fetchone()
        return bool(found and found[0])

    def finish_run(self, run_id: str, status: str, counts: Mapping[str, int]) -> None:
        """Record how a run ended and its counts per outcome."""
        with self.connect() as conn:
            conn.execute(
                "UPDATE sync_runs SET finished_at = %s, status = %s, counts = %s WHERE run_id = %s",
                [_now(), status, json.dumps(dict(counts), sort_keys=True), run_id],
            )

    def unfinished_runs(self) -> list[str]:
        """Run ids whose `sync_runs` row is still `started`."""
        with self.connect() as conn:
            rows = conn.execute("SELECT run_id FROM sync_runs WHERE status = 'started'").fetchall()
        return [row[0] for row in rows]

    def mark_interrupted(self, run_ids: Sequence[str]) -> int:
        """Close the rows of runs whose process died (`interrupted`, with the outcomes they recorded)."""
        marked = 0
        for run_id in run_ids:
            counts = self.run_counts(run_id)
            with self.connect() as conn:
                cursor = conn.execute(
                    "UPDATE sync_runs SET finished_at = %s, status = 'interrupted', counts = %s "
                    "WHERE run_id = %s AND status = 'started'",
                    [_now(), json.dumps(counts, sort_keys=True), run_id],
                )
                marked += max(cursor.rowcount, 0)
        return marked

    def run_counts(self, run_id: str) -> dict[str, int]:
        """`<target>:<outcome>` → outcome rows the run recorded (the counts of its `sync_runs` row)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT target, outcome, count(*) FROM sync_outcomes WHERE run_id = %s "
                "GROUP BY target, outcome ORDER BY target, outcome",
                [run_id],
            ).fetchall()
        return {f"{target}:{outcome}": int(n) for target, outcome, n in rows}

    # -- what was pulled and mapped -----------------------------------------------------------------

    def record_pulls(self, run_id: str, frames: Mapping[str, pd.DataFrame]) -> int:
        """Keep every JDE row pulled, as JSON, keyed by table and AN8. Returns the rows written.

        One COPY for all tables; each row's JSON is DuckDB's `to_json` of the row, as the DuckDB store
        writes it (bulk.py: the initial load pulls over a million rows at 100,000 parties).
        """
        written = 0
        pulled_at = _now().isoformat()
        with self.connect() as conn, copying(conn, "jde_pulls", PULL_COLUMNS) as write:
            for table_name, frame in frames.items():
                write(
                    frame,
                    "?, ?, CAST(frame.AN8 AS BIGINT), to_json(frame), ?",
                    [run_id, table_name, pulled_at],
                )
                written += len(frame)
        return written

    def record_deleted(self, run_id: str, an8s: Sequence[int]) -> int:
        """Keep the parties the run found gone from JDE (schema.py `jde_deleted`); returns the rows kept."""
        wanted = sorted({int(a) for a in an8s})
        if not wanted:
            return 0
        batch = pd.DataFrame({"run_id": run_id, "an8": wanted, "found_at": _now()})
        with self.connect() as conn:
            return copy_frame(conn, "jde_deleted", batch)

    def deleted(self, run_id: str) -> list[int]:
        """The parties run `run_id` found gone from JDE (`record_deleted`), sorted."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT an8 FROM jde_deleted WHERE run_id = %s ORDER BY an8", [run_id]
            ).fetchall()
        return [int(an8) for (an8,) in rows]

    def record_mapped_values(self, run_id: str, trail: pd.DataFrame) -> int:
        """Keep the field-level trail: an8, target, field, source_value, mapped_value (by COPY, in chunks:
        ~12 rows per party)."""
        if trail.empty:
            return 0
        with self.connect() as conn:
            return copy_frame(
                conn,
                "mapped_values",
                trail,
                MAPPED_COLUMNS,
                "?, an8, target::VARCHAR, field::VARCHAR, source_value::VARCHAR, mapped_value::VARCHAR, ?",
                [run_id, _now().isoformat()],
            )

    def record_events(self, run_id: str, events: pd.DataFrame) -> int:
        """Keep the mapping's events (an8, target, event, detail, and `partition_key` when known)."""
        if events.empty:
            return 0
        batch = pd.DataFrame(
            {
                "run_id": run_id,
                "partition_key": _column(events, "partition_key"),
                "an8": events["an8"].astype("int64").to_numpy(),
                "target": events["target"].astype(str).to_numpy(),
                "event": events["event"].astype(str).to_numpy(),
                "detail": [None if v is None else str(v) for v in _column(events, "detail")],
                "noted_at": _now().isoformat(),
            }
        )
        with self.connect() as conn:
            return copy_frame(conn, "mapping_events", batch)

    # -- what was written to Mailchimp --------------------------------------------------------------

    def record_writes(self, run_id: str, events: Sequence[Mapping[str, Any]]) -> int:
        """Keep HTTP write attempts as the Mailchimp client's recorder reports them (no secrets in them)."""
        if not events:
            return 0
        batch = pd.DataFrame(
            {
                "run_id": run_id,
                "target": [e.get("target") for e in events],
                "target_key": [e.get("target_key") for e in events],
                "record_key": [e.get("record_key") for e in events],
                "method": [e["method"] for e in events],
                "path": [e["path"] for e in events],
                "request_body": [_json_or_none(e.get("request_body")) for e in events],
                "status": pd.array([e.get("status") for e in events], dtype="Int32"),
                "response_body": [_json_or_none(e.get("response_body")) for e in events],
                "attempt": [int(e.get("attempt", 1)) for e in events],
                "elapsed_ms": pd.array([e.get("elapsed_ms") for e in events], dtype="Float64"),
                "written_at": [_stamp(e.get("at")) for e in events],
            }
        )
        with self.connect() as conn:
            return copy_frame(conn, "mailchimp_writes", batch)

    def record_outcomes(
        self, run_id: str, partition_key: str | Sequence[str | None] | None, outcomes: pd.DataFrame
    ) -> int:
        """Keep one row per party and target: an8, target, target_key, outcome, reason, hash, payload.
        `partition_key`: the rows' partition, or one per row (a range run's outcomes in one write: one
        connection, not one per day of the range)."""
        if outcomes.empty:
            return 0
        batch = pd.DataFrame(
            {
                "run_id": run_id,
                "partition_key": _partition_keys(partition_key),
                "an8": outcomes["an8"].astype("int64").to_numpy(),
                "target": outcomes["target"].to_numpy(),
                "target_key": _column(outcomes, "target_key"),
                "outcome": outcomes["outcome"].to_numpy(),
                "reason": _column(outcomes, "reason"),
                "payload_hash": _column(outcomes, "payload_hash"),
                "payload": [_json_or_none(p) for p in _column(outcomes, "payload")],
                "decided_at": _now().isoformat(),
            }
        )
        with self.connect() as conn:
            return copy_frame(conn, "sync_outcomes", batch)

    # -- replay -------------------------------------------------------------------------------------

    def unresolved_failures(self, run_id: str | None = None) -> pd.DataFrame:
        """`failed` outcomes not yet resolved, each with `is_latest` (audit/store.py `AuditStore`'s
        method: the same rules and columns; `DISTINCT ON` takes the place of DuckDB's `arg_max`)."""
        run_filter = "AND run_id = ?" if run_id is not None else ""
        sql = f"""
            WITH wanted AS (
                SELECT * FROM sync_outcomes
                WHERE outcome = '{FAILED}' AND resolved_by IS NULL {run_filter}
            ),
            latest AS (
                SELECT DISTINCT ON (an8, target) an8, target, run_id AS latest_run_id,
                       outcome AS latest_outcome, decided_at AS latest_at
                FROM sync_outcomes
                WHERE (an8, target) IN (SELECT an8, target FROM wanted)
                ORDER BY an8, target, decided_at DESC
            ),
            member_after AS (
                SELECT DISTINCT ON (w.run_id, w.an8) w.run_id, w.an8, o.run_id AS member_run_id,
                       o.outcome AS member_outcome
                FROM wanted w JOIN sync_outcomes o
                  ON o.an8 = w.an8 AND o.target = ? AND o.run_id <> w.run_id
                 AND o.decided_at > w.decided_at
                WHERE w.target = ?
                ORDER BY w.run_id, w.an8, o.decided_at DESC
            )
            SELECT w.run_id, w.partition_key, w.an8, w.target, w.target_key, w.outcome, w.reason,
                   w.payload_hash, CAST(w.payload AS text) AS payload, w.decided_at,
                   (w.decided_at = l.latest_at AND w.run_id = l.latest_run_id
                    AND m.member_run_id IS NULL) AS is_latest,
                   coalesce(m.member_run_id, l.latest_run_id) AS latest_run_id,
                   coalesce(m.member_outcome, l.latest_outcome) AS latest_outcome
            FROM wanted w JOIN latest l USING (an8, target)
            LEFT JOIN member_after m ON m.run_id = w.run_id AND m.an8 = w.an8
                 AND w.target = ?
            ORDER BY w.decided_at, w.an8, w.target
        """
        targets = [LIST_MEMBER, ECOMMERCE_CUSTOMER, ECOMMERCE_CUSTOMER]
        return self.query(sql, [*([run_id] if run_id is not None else []), *targets])

    def mark_resolved(self, failures: pd.DataFrame, resolved_by: str) -> int:
        """Set `resolved_by` on these unresolved `failed` rows (columns run_id, an8, target)."""
        if failures.empty or self.read_only:
            return 0
        with self.connect() as conn:
            cursor = conn.execute(
                f"""
                UPDATE sync_outcomes SET resolved_by = %s
                WHERE outcome = '{FAILED}' AND resolved_by IS NULL
                  AND (run_id, an8, target) IN (
                      SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[]))
                """,
                [
                    resolved_by,
                    failures["run_id"].astype(str).tolist(),
                    failures["an8"].astype("int64").tolist(),
                    failures["target"].astype(str).tolist(),
                ],
            )
            return max(cursor.rowcount, 0)

    # -- milestones ---------------------------------------------------------------------------------

    def reached(self, milestone: str) -> bool:
        """Whether `sync_milestones` records `milestone`."""
        with self.connect() as conn:
            found = conn.execute(
                "SELECT count(*) FROM sync_milestones WHERE name = %s", [milestone]
            ).fetchone()
        return bool(found and found[0])

    def record_milestone(self, milestone: str, run_id: str) -> None:
        """Record that run `run_id` completed `milestone` (kept as first recorded)."""
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO sync_milestones VALUES (%s, %s, %s) ON CONFLICT (name) DO NOTHING",
                [milestone, run_id, _now()],
            )

    # -- retention ----------------------------------------------------------------------------------

    def prune(self, keep_raw_days: int) -> dict[str, int]:
        """Delete pulled rows and mapped values older than N days; outcomes and writes are kept."""
        cutoff = _now() - timedelta(days=keep_raw_days)
        with self.connect() as conn:
            pulls = conn.execute("DELETE FROM jde_pulls WHERE pulled_at < %s", [cutoff]).rowcount
            values = conn.execute("DELETE FROM mapped_values WHERE mapped_at < %s", [cutoff]).rowcount
        return {"jde_pulls": max(pulls, 0), "mapped_values": max(values, 0)}


def _stamp(value: Any) -> str:
    return (value or _now()).isoformat() if not isinstance(value, str) else value


def _now() -> datetime:
    return datetime.now(UTC)

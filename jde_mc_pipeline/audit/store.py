"""The DuckDB audit store: every row pulled, every value mapped, every write to Mailchimp and its answer.

Why a short connection per write instead of one held for a whole step: DuckDB allows one read-write
process per file and blocks readers from other processes meanwhile
(https://duckdb.org/docs/stable/connect/concurrency). Runs
of the sync overlap (a sensor run beside a backfill), so each batch of audit rows opens the file,
writes and closes it in `finally`, and a connection refused because another process holds the lock is
retried with backoff. Holding the lock only for milliseconds is what lets parallel runs share the file;
Dagster's pool of 1 on the steps that touch it is the second line of defence.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_delay, wait_random_exponential

from jde_mc_pipeline.audit.schema import CREATE_MIGRATION_TABLE, MIGRATION_TABLE, MIGRATIONS, Migration
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import FAILED

log = logging.getLogger(__name__)
MEMORY = ":memory:"
BULK_WRITE_MEMORY = 32 * 2**20
BULK_WRITE_MEMORY_PER_ROW = 64


def bound_bulk_write(conn: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Cap DuckDB's memory (its default is 80% of RAM) for a write of `rows` rows from a frame, and make
    it one thread. The pulls and the mapped values are an initial load's largest writes, and DuckDB fills
    whatever cap it has before it writes out: at 100,000 parties the pulls took the 256 MB of their
    former fixed cap beside jde_extract's staging, and the uncapped mapped values 140 MB in map_parties;
    now about 80 and 35 MB, in the same time.

    One thread, because each thread holds its own buffers: the need would grow with the machine's cores,
    and the pandas scan waits on the GIL anyway (no slower measured). The per-row part is for the index on
    `an8`, which stays in memory as it grows: at one thread 660,000 pulls (100,000 parties) needed 24 to
    32 MB, 2.6 million 80 to 96 MB, 6.6 million 260 to 300 MB; this gives 1.4 to 2.3 times that. A file
    store only: what does not fit is written out, and an in-memory store could not.
    """
    conn.execute("SET threads = 1")
    conn.execute(f"SET memory_limit = '{(BULK_WRITE_MEMORY + BULK_WRITE_MEMORY_PER_ROW * rows) // 2**20}MB'")


RUN_COLUMNS = (
    "run_id, job, partition_start, partition_end, window_start, window_end, started_at, finished_at, status, "
    "counts, parent_run_id"
)
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
"""How a run's `sync_runs` row ends (`finish_run`); the store itself sets `started` and `interrupted`."""


def _log_lock_wait(state: RetryCallState) -> None:
    """One INFO line per wait for another process's lock (dagster.yaml routes it to the run's logs)."""
    pause = state.next_action.sleep if state.next_action else 0.0
    log.info(
        "audit database locked by another process: waiting %.2f s (attempt %d)", pause, state.attempt_number
    )


def _is_lock_conflict(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


class AuditStore:
    """Reads and writes the audit relations of docs/audit.md in one DuckDB file."""

    def __init__(
        self, path: str | Path, lock_wait_seconds: float = 120.0, *, read_only: bool = False
    ) -> None:
        """Open (and create, unless `read_only`) the store. A read-only store never creates the file or
        its relations: `jde-mc dry-run` reads the synced state and must leave the file as it was.

        `":memory:"` keeps the store in one DuckDB connection of this process (dry runs without an audit
        file, tests): the same SQL, nothing on disk.
        """
        self.path = Path(path)
        self.read_only = read_only
        self._lock_wait_seconds = lock_wait_seconds
        self._memory = duckdb.connect(":memory:") if str(path) == MEMORY else None
        if self._memory is not None:
            upgrade(self._memory)
            return
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"audit database {self.path} does not exist")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            for migration in upgrade(conn):
                log.info("audit database %s: applied migration %d (%s)", self.path, *astuple(migration)[:2])

    @property
    def location(self) -> str:
        """Where the store is, as metadata, logs and errors may show it (a path: nothing secret)."""
        return MEMORY if self._memory is not None else str(self.path)

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of one statement (`?` placeholders), as a frame: the read both backends answer alike."""
        with self.connect() as conn:
            return conn.execute(sql, list(params)).fetchdf()

    def schema_version(self) -> int:
        """The newest migration recorded in the store (0: none, a file from before migrations)."""
        with self.connect() as conn:
            return _recorded_version(conn)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection (read-write unless the store is read-only) that is always closed, retried while
        another process holds the lock; one thread of the process at a time (`_ONE_THREAD`)."""
        with _ONE_THREAD, self._connection() as conn:
            yield conn

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._memory is not None:
            with self._memory.cursor() as cursor:
                yield cursor
            return
        opener = retry(
            retry=retry_if_exception(_is_lock_conflict),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            stop=stop_after_delay(self._lock_wait_seconds),
            before_sleep=_log_lock_wait,
            reraise=True,
        )(duckdb.connect)
        conn = opener(str(self.path), read_only=self.read_only)
        try:
            yield conn
        finally:
            conn.close()

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
        """Record that a run began (again, if Dagster retries it: the row is replaced). `parent_run_id`: the
        run whose pulls this re-execution reuses."""
        with self.connect() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO sync_runs ({RUN_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'started', NULL, ?)",
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
            found = conn.execute("SELECT count(*) FROM sync_runs WHERE run_id = ?", [run_id]).fetchone()
        return bool(found and found[0])

    def finish_run(self, run_id: str, status: str, counts: Mapping[str, int]) -> None:
        """Record how a run ended and its counts per outcome."""
        with self.connect() as conn:
            conn.execute(
                "UPDATE sync_runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
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
                row = conn.execute(
                    "UPDATE sync_runs SET finished_at = ?, status = 'interrupted', counts = ? "
                    "WHERE run_id = ? AND status = 'started'",
                    [_now(), json.dumps(counts, sort_keys=True), run_id],
                ).fetchone()
            marked += int(row[0]) if row else 0
        return marked

    def run_counts(self, run_id: str) -> dict[str, int]:
        """`<target>:<outcome>` → outcome rows the run recorded (the counts of its `sync_runs` row)."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT target, outcome, count(*) FROM sync_outcomes WHERE run_id = ? "
                "GROUP BY ALL ORDER BY ALL",
                [run_id],
            ).fetchall()
        return {f"{target}:{outcome}": int(n) for target, outcome, n in rows}

    # -- what was pulled and mapped -----------------------------------------------------------------

    def record_pulls(self, run_id: str, frames: Mapping[str, pd.DataFrame]) -> int:
        """Keep every JDE row pulled, as JSON, keyed by table and AN8. Returns the rows written.

        DuckDB reads the frame in place and writes each row's JSON itself (`to_json` of the row): the
        initial load pulls 1.3M rows for 100,000 parties, and building the JSON text in pandas first
        took most of the extract step's own time. Its memory is capped (`bound_bulk_write`).
        """
        written = 0
        pulled_at = _now()
        with self.connect() as conn:
            if self._memory is None:
                bound_bulk_write(conn, sum(len(frame) for frame in frames.values()))
            for table_name, frame in frames.items():
                if frame.empty:
                    continue
                conn.register("pulled", frame)
                conn.execute(
                    "INSERT INTO jde_pulls SELECT ?, ?, CAST(p.AN8 AS BIGINT), to_json(p), ? FROM pulled p",
                    [run_id, table_name, pulled_at],
                )
                conn.unregister("pulled")
                written += len(frame)
        return written

    def record_deleted(self, run_id: str, an8s: Sequence[int]) -> int:
        """Keep the parties the run found gone from JDE (schema.py `jde_deleted`); returns the rows kept."""
        wanted = sorted({int(a) for a in an8s})
        if not wanted:
            return 0
        with self.connect() as conn:
            conn.executemany(
                "INSERT INTO jde_deleted VALUES (?, ?, ?)", [(run_id, an8, _now()) for an8 in wanted]
            )
        return len(wanted)

    def deleted(self, run_id: str) -> list[int]:
        """The parties run `run_id` found gone from JDE (`record_deleted`), sorted."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT DISTINCT an8 FROM jde_deleted WHERE run_id = ? ORDER BY an8", [run_id]
            ).fetchall()
        return [int(an8) for (an8,) in rows]

    def record_mapped_values(self, run_id: str, trail: pd.DataFrame) -> int:
        """Keep the field-level trail: an8, target, field, source_value, mapped_value.

        DuckDB reads the frame in place and casts in SQL: a million parties make a trail of ~12M rows,
        and converting its columns in pandas first would cost more memory than the mapping itself. Its
        memory is capped (`bound_bulk_write`).
        """
        if trail.empty:
            return 0
        with self.connect() as conn:
            if self._memory is None:
                bound_bulk_write(conn, len(trail))
            conn.register("trail", trail)
            conn.execute(
                "INSERT INTO mapped_values SELECT ?, an8, target::VARCHAR, field::VARCHAR, "
                "source_value::VARCHAR, mapped_value::VARCHAR, ? FROM trail",
                [run_id, _now()],
            )
        return len(trail)

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
                "noted_at": _now(),
            }
        )
        with self.connect() as conn:
            conn.execute("INSERT INTO mapping_events SELECT * FROM batch")
        return len(batch)

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
                "elapsed_ms": [e.get("elapsed_ms") for e in events],
                "written_at": [e.get("at") or _now() for e in events],
            }
        )
        written = 0
        with self.connect() as conn:
            for start, end in _slices_of_text(batch["request_body"], WRITES_TEXT_PER_INSERT):
                part = batch.iloc[start:end]  # noqa: F841 - read by the INSERT below
                try:
                    conn.execute("INSERT INTO mailchimp_writes SELECT * FROM part")
                except Exception as exc:
                    exc.rows_written = written  # type: ignore[attr-defined] # the recorder keeps the rest
                    raise
                written = end
        return len(batch)

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
                "decided_at": _now(),
                "resolved_by": None,
            }
        )
        with self.connect() as conn:
            if self._memory is None:
                bound_bulk_write(conn, len(batch))  # an initial load's 200,000 outcomes took 200 MB
            conn.execute("INSERT INTO sync_outcomes SELECT * FROM batch")
        return len(batch)

    # -- replay -------------------------------------------------------------------------------------

    def unresolved_failures(self, run_id: str | None = None) -> pd.DataFrame:
        """`failed` outcomes not yet resolved (of one run, or all), oldest first, each with `is_latest`:
        whether it is still the newest outcome of its (AN8, target). One that is not was superseded by a
        later run (a newer payload, or a decision such as `unchanged`) and must not be sent again. A
        customer failure is also superseded once another run decided its party's member after it: that
        run decides the customer next (members go first), possibly under a new e-mail, and a replay
        landing between its two steps would re-create the customer under the old one (Mailchimp then
        adds that address as a transactional contact).

        Columns: run_id, partition_key, an8, target, target_key, outcome, reason, payload_hash, payload
        (JSON text), decided_at, is_latest, latest_run_id, latest_outcome.
        """
        run_filter = "AND run_id = ?" if run_id is not None else ""
        sql = f"""
            WITH wanted AS (
                SELECT * FROM sync_outcomes
                WHERE outcome = '{FAILED}' AND resolved_by IS NULL {run_filter}
            ),
            latest AS (
                SELECT an8, target, arg_max(run_id, decided_at) AS latest_run_id,
                       arg_max(outcome, decided_at) AS latest_outcome, max(decided_at) AS latest_at
                FROM sync_outcomes
                WHERE (an8, target) IN (SELECT (an8, target) FROM wanted)
                GROUP BY an8, target
            ),
            member_after AS (
                SELECT w.run_id, w.an8, arg_max(o.run_id, o.decided_at) AS member_run_id,
                       arg_max(o.outcome, o.decided_at) AS member_outcome
                FROM wanted w JOIN sync_outcomes o
                  ON o.an8 = w.an8 AND o.target = ? AND o.run_id <> w.run_id
                 AND o.decided_at > w.decided_at
                WHERE w.target = ?
                GROUP BY w.run_id, w.an8
            )
            SELECT w.run_id, w.partition_key, w.an8, w.target, w.target_key, w.outcome, w.reason,
                   w.payload_hash, CAST(w.payload AS VARCHAR) AS payload, w.decided_at,
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
        with self.connect() as conn:
            return conn.execute(sql, [*([run_id] if run_id is not None else []), *targets]).fetchdf()

    def mark_resolved(self, failures: pd.DataFrame, resolved_by: str) -> int:
        """Set `resolved_by` on these unresolved `failed` rows (columns run_id, an8, target)."""
        if failures.empty or self.read_only:
            return 0
        keys = failures.loc[:, ["run_id", "an8", "target"]].astype({"an8": "int64"})
        with self.connect() as conn:
            conn.register("resolved_keys", keys)
            row = conn.execute(
                f"""
                UPDATE sync_outcomes SET resolved_by = ?
                WHERE outcome = '{FAILED}' AND resolved_by IS NULL
                  AND (run_id, an8, target) IN (SELECT (run_id, an8, target) FROM resolved_keys)
                """,
                [resolved_by],
            ).fetchone()
        return int(row[0]) if row else 0

    # -- milestones ---------------------------------------------------------------------------------

    def reached(self, milestone: str) -> bool:
        """Whether `sync_milestones` records `milestone` (a read-only file made before it says no)."""
        with self.connect() as conn:
            try:
                found = conn.execute(
                    "SELECT count(*) FROM sync_milestones WHERE name = ?", [milestone]
                ).fetchone()
            except duckdb.CatalogException:
                if not self.read_only:
                    raise
                return False
        return bool(found and found[0])

    def record_milestone(self, milestone: str, run_id: str) -> None:
        """Record that run `run_id` completed `milestone` (kept as first recorded)."""
        with self.connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO sync_milestones VALUES (?, ?, ?)", [milestone, run_id, _now()]
            )

    # -- retention ----------------------------------------------------------------------------------

    def prune(self, keep_raw_days: int) -> dict[str, int]:
        """Delete pulled rows and mapped values older than N days; outcomes and writes are kept."""
        cutoff = _now() - timedelta(days=keep_raw_days)
        with self.connect() as conn:
            pulls = conn.execute("DELETE FROM jde_pulls WHERE pulled_at < ?", [cutoff]).fetchone()
            values = conn.execute("DELETE FROM mapped_values WHERE mapped_at < ?", [cutoff]).fetchone()
        return {"jde_pulls": int(pulls[0]) if pulls else 0, "mapped_values": int(values[0]) if values else 0}


def upgrade(conn: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply the migrations the store lacks, each in its own transaction and recorded; returns them.

    A file from before the migration table gets migration 1, whose statements are all idempotent."""
    conn.execute(CREATE_MIGRATION_TABLE)
    done = _recorded_version(conn)
    applied = []
    for migration in MIGRATIONS:
        if migration.version <= done:
            continue
        conn.execute("BEGIN TRANSACTION")
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            f"INSERT INTO {MIGRATION_TABLE} VALUES (?, ?, ?)", [migration.version, migration.name, _now()]
        )
        conn.execute("COMMIT")
        applied.append(migration)
    return applied


def _recorded_version(conn: duckdb.DuckDBPyConnection) -> int:
    try:
        found = conn.execute(f"SELECT max(version) FROM {MIGRATION_TABLE}").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(found[0]) if found and found[0] is not None else 0


def _now() -> datetime:
    return datetime.now(UTC)


_ONE_THREAD = threading.RLock()
"""Held while a thread of this process uses the audit file. Connections of two threads to one file share
one DuckDB instance, and a thread closing the last of them (which checkpoints and shuts the instance) while
another opens one made DuckDB lose its pandas scan ("Table Function with name pandas_scan does not
exist"): the recorder's thread (sync/recording.py) and the step's own writes take turns instead."""


WRITES_TEXT_PER_INSERT = 8_000_000
"""Characters of request bodies per INSERT into `mailchimp_writes`, each its own transaction: DuckDB holds
a transaction's rows, and parses every JSON value it stores a whole vector at once. 17 batch requests of
2 MB took 175 MB more in one INSERT than one by one (38 MB). What is left is DuckDB's checkpoint, which
rewrites the table's last row group, big bodies and all (BENCHMARKS.md)."""


def _slices_of_text(texts: pd.Series, limit: int) -> Iterator[tuple[int, int]]:
    """[start, end) row ranges whose texts add up to at most `limit` characters (one row at least)."""
    start, size = 0, 0
    for number, text in enumerate(texts):
        length = len(text) if isinstance(text, str) else 0
        if number > start and size + length > limit:
            yield start, number
            start, size = number, 0
        size += length
    if start < len(texts):
        yield start, len(texts)


class JsonText(str):
    """Text already made by `json.dumps` (e.g. a request body exactly as sent): kept as it is, neither
    parsed again to check it nor encoded again."""

    __slots__ = ()

    @classmethod
    def of(cls, value: Any) -> JsonText:
        """`value` encoded as the audit encodes every JSON value it is given (`_json_text`)."""
        return cls(_json_text(value))


def _json_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, JsonText):
        return str(value)
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        try:
            json.loads(text)
        except ValueError:
            return json.dumps(text, ensure_ascii=False)
        return text
    return _json_text(value)


def _json_text(value: Any) -> str:
    """The audit's JSON of a value: keys sorted, text as it is, anything else as its str()."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [None if (v is None or (isinstance(v, float) and pd.isna(v))) else v for v in frame[name]]


def _partition_keys(keys: str | Sequence[str | None] | None) -> Any:
    """One key for every row, or one key per row (a missing one, NaN included, as NULL)."""
    if keys is None or isinstance(keys, str):
        return keys
    return [key if isinstance(key, str) else None for key in keys]

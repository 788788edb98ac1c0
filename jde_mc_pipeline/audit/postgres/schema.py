"""The audit relations on PostgreSQL (docs/audit.md): the DuckDB file's relations and columns
(audit/schema.py), as numbered migrations applied only by `jde-mc audit upgrade` (migrations.py).

Types, and why:
- text for every string (PostgreSQL's `varchar` without a length is the same type; `text` is the idiom),
  `bigint` for AN8s, `timestamptz` for every time (always given by Python: the tests' clock moves it).
- every JSON column is `json`, not `jsonb`: `jde_pulls.row_json`, `mailchimp_writes.request_body` and
  `response_body` are kept as they were pulled, sent or answered (key order, numbers as written), and
  `json` only checks the text on the way in while `jsonb` converts it to its binary form. That
  conversion is paid on the hot path (the initial load writes 200,000 outcome payloads at 100,000
  parties: `jsonb` added 0.9 s to their 1.9 s COPY), while `->>` on `json` parses only the rows an
  operator's question reads (docs/audit.md). `sync_outcomes.payload` and `sync_runs.counts` follow.
- `text[]` for owned tags, `bigint[]` for the AN8s folded into a record. No GIN index on the groups:
  the state is read for thousands of AN8s at once, which a hash join of the unnested groups answers
  faster than index probes, and the initial load's insert of every record paid for its upkeep.
- `synced_state` has its key (target, an8) and no other index, as in DuckDB (audit/schema.py): the state
  is read and replaced by joins with thousands of keys at once, which hash joins answer, and indexes on
  e-mail and key tripled the initial load's insert of every record (0.5 s -> 1.7 s at 100,000 parties).
- `jde_pulls` is read by run (each sync's reconciliation check) and grows with every run: a BRIN index on
  `run_id` keeps that read from scanning the whole history at almost no cost to COPY. A run's rows are
  written together, so each block range holds one or two runs and its min/max narrows to them; DuckDB's
  zone maps give the file the same for free.
"""

from __future__ import annotations

from jde_mc_pipeline.audit.schema import MIGRATION_TABLE, Migration

CREATE_MIGRATION_TABLE = f"""
    CREATE TABLE IF NOT EXISTS {MIGRATION_TABLE} (
        version    bigint PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL
    )
"""

RELATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sync_runs (
        run_id          text PRIMARY KEY,
        job             text NOT NULL,
        partition_start text,
        partition_end   text,
        window_start    timestamptz,
        window_end      timestamptz,
        started_at      timestamptz NOT NULL,
        finished_at     timestamptz,
        status          text NOT NULL,
        counts          json
    )
    """,
    """
    CREATE TABLE jde_pulls (
        run_id     text NOT NULL,
        table_name text NOT NULL,
        an8        bigint NOT NULL,
        row_json   json NOT NULL,
        pulled_at  timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE jde_deleted (
        run_id   text NOT NULL,
        an8      bigint NOT NULL,
        found_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE mapped_values (
        run_id       text NOT NULL,
        an8          bigint NOT NULL,
        target       text NOT NULL,
        field        text NOT NULL,
        source_value text,
        mapped_value text,
        mapped_at    timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE mailchimp_writes (
        run_id        text NOT NULL,
        target        text,
        target_key    text,
        record_key    text,
        method        text NOT NULL,
        path          text NOT NULL,
        request_body  json,
        status        integer,
        response_body json,
        attempt       integer NOT NULL,
        elapsed_ms    double precision,
        written_at    timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE sync_outcomes (
        run_id        text NOT NULL,
        partition_key text,
        an8           bigint NOT NULL,
        target        text NOT NULL,
        target_key    text,
        outcome       text NOT NULL,
        reason        text,
        payload_hash  text,
        payload       json,
        decided_at    timestamptz NOT NULL,
        resolved_by   text
    )
    """,
    """
    CREATE TABLE synced_state (
        target       text NOT NULL,
        an8          bigint NOT NULL,
        target_key   text NOT NULL,
        email        text NOT NULL,
        payload_hash text NOT NULL,
        tags         text[] NOT NULL,
        run_id       text,
        synced_at    timestamptz NOT NULL,
        an8s         bigint[] NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    """
    CREATE TABLE synced_rejections (
        target       text NOT NULL,
        an8          bigint NOT NULL,
        payload_hash text NOT NULL,
        title        text NOT NULL,
        run_id       text,
        rejected_at  timestamptz NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    """
    CREATE TABLE synced_departures (
        target      text NOT NULL,
        an8         bigint NOT NULL,
        reason      text NOT NULL,
        action      text NOT NULL,
        target_key  text,
        run_id      text,
        left_at     timestamptz NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    """
    CREATE TABLE sync_milestones (
        name       text PRIMARY KEY,
        run_id     text,
        reached_at timestamptz NOT NULL
    )
    """,
    """
    CREATE TABLE mapping_events (
        run_id        text NOT NULL,
        partition_key text,
        an8           bigint NOT NULL,
        target        text NOT NULL,
        event         text NOT NULL,
        detail        text,
        noted_at      timestamptz NOT NULL
    )
    """,
    "CREATE INDEX jde_pulls_an8 ON jde_pulls (an8)",
    "CREATE INDEX mapped_values_an8 ON mapped_values (an8)",
    "CREATE INDEX mapping_events_an8 ON mapping_events (an8)",
    "CREATE INDEX mailchimp_writes_run ON mailchimp_writes (run_id)",
    "CREATE INDEX mailchimp_writes_key ON mailchimp_writes (target_key)",
    "CREATE INDEX sync_outcomes_an8 ON sync_outcomes (an8)",
    "CREATE INDEX sync_outcomes_run ON sync_outcomes (run_id)",
    "CREATE INDEX jde_pulls_run ON jde_pulls USING brin (run_id)",
    "CREATE INDEX jde_deleted_run ON jde_deleted (run_id)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit relations", RELATIONS),
    Migration(2, "sync_runs.parent_run_id", ("ALTER TABLE sync_runs ADD COLUMN parent_run_id text",)),
    Migration(
        3,
        "drift_findings",
        (
            """
            CREATE TABLE drift_findings (
                run_id      text NOT NULL,
                an8         bigint NOT NULL,
                target      text NOT NULL,
                kind        text NOT NULL,
                field       text,
                ours        text,
                theirs      text,
                found_at    timestamptz NOT NULL,
                target_key  text,
                resend      boolean NOT NULL,
                resolved_by text
            )
            """,
            "CREATE INDEX drift_findings_an8 ON drift_findings (an8)",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version

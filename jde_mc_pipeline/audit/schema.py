"""The audit store's relations (docs/audit.md), created idempotently.

Why these indexes: the two questions operators ask are "the history of AN8 X" and "everything that
failed in run R". DuckDB's zone maps already make range scans cheap, but point lookups on a column that
is not the insertion order need an ART index to stay fast as the history grows.

`synced_state` is the last successful write per record (mapping/changes.py), one row per record held by
its holder AN8, with `an8s`, every AN8 folded into the record: its primary key (target, holder) is the
upsert key, and nothing else is indexed on it, because a second index on an upserted table costs more in
DuckDB than the e-mail and group look-ups (joins with the wanted keys) it would save. `an8s` was added
after the first release: `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` brings older files along, and their
rows get the holder alone as group (merged AN8s were not recorded then; they are found by e-mail).
`synced_rejections` is the payload Mailchimp last refused for good per (target, AN8) (docs/mapping.md:
not retried). It is its own relation rather than nullable columns of `synced_state` because most
refused parties were never written at all (a fake e-mail on the first sync): they have no target key,
e-mail or hash in Mailchimp, and a `synced_state` row for them would claim a record that does not exist.
`synced_departures` keeps the AN8s whose leaving scope was applied (docs/mapping.md), so that a party
pulled again while still out of scope is not sent anything twice. `jde_deleted` keeps the parties a run
found gone from JDE (asked for with their group and no row came back, or named by the scope
reconciliation): they have no row in `jde_pulls`, yet the run pulled them and gives them their outcomes.
`mapping_events` keeps the facts the mapping found per party (an incomplete address, a shared e-mail, a
taken e-mail, …) next to the outcomes.
`sync_milestones` records the one-time moves of the store, by name, with the run that completed each
(audit/legacy.py: the first release's customer ids), so that no later run looks for them again.
`CREATE TABLE IF NOT EXISTS` adds the later relations to older files.

Why numbered migrations (`MIGRATIONS`, recorded in `audit_schema_migrations`): a schema that changes
silently on open cannot be audited. The DuckDB file is still created and brought up to date when a store
opens it (the embedded default a newcomer runs must just work), but each migration applied is logged and
recorded with its number, name and time; PostgreSQL's twin (audit/postgres/schema.py) is only ever changed
by `jde-mc audit upgrade`. Migration 1 is every statement above, each idempotent, so that a file of an
older release (no migration table) is brought along by it; migration 2 adds `sync_runs.parent_run_id`, the
run whose pulls a re-execution reuses (Dagster's retry "from failure" runs only the Mailchimp steps);
migration 3 adds `drift_findings` (docs/audit.md): what the drift report (`mailchimp_drift`) found changed
in Mailchimp since the sync, one row per finding when first seen; `resend` marks the findings the next
sync repairs by sending the record's owned fields again (`JDE_MC_RESEND_DRIFTED`), and `resolved_by` is
the run that did.

The file must not be called `audit.duckdb` while it has a schema called `audit` (DuckDB:
ambiguous reference to catalog or schema), so every relation lives in the default `main` schema.
"""

from __future__ import annotations

from dataclasses import dataclass

MIGRATION_TABLE = "audit_schema_migrations"
CREATE_MIGRATION_TABLE = f"""
    CREATE TABLE IF NOT EXISTS {MIGRATION_TABLE} (
        version    BIGINT PRIMARY KEY,
        name       VARCHAR NOT NULL,
        applied_at TIMESTAMPTZ NOT NULL
    )
"""


@dataclass(frozen=True)
class Migration:
    """One numbered step of the schema: its statements run in order, in one transaction."""

    version: int
    name: str
    statements: tuple[str, ...]


STATEMENTS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS sync_runs (
        run_id          VARCHAR PRIMARY KEY,
        job             VARCHAR NOT NULL,
        partition_start VARCHAR,
        partition_end   VARCHAR,
        window_start    TIMESTAMPTZ,
        window_end      TIMESTAMPTZ,
        started_at      TIMESTAMPTZ NOT NULL,
        finished_at     TIMESTAMPTZ,
        status          VARCHAR NOT NULL,
        counts          JSON
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS jde_pulls (
        run_id     VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        an8        BIGINT NOT NULL,
        row_json   JSON NOT NULL,
        pulled_at  TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS jde_deleted (
        run_id   VARCHAR NOT NULL,
        an8      BIGINT NOT NULL,
        found_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS mapped_values (
        run_id       VARCHAR NOT NULL,
        an8          BIGINT NOT NULL,
        target       VARCHAR NOT NULL,
        field        VARCHAR NOT NULL,
        source_value VARCHAR,
        mapped_value VARCHAR,
        mapped_at    TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS mailchimp_writes (
        run_id        VARCHAR NOT NULL,
        target        VARCHAR,
        target_key    VARCHAR,
        record_key    VARCHAR,
        method        VARCHAR NOT NULL,
        path          VARCHAR NOT NULL,
        request_body  JSON,
        status        INTEGER,
        response_body JSON,
        attempt       INTEGER NOT NULL,
        elapsed_ms    DOUBLE,
        written_at    TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sync_outcomes (
        run_id        VARCHAR NOT NULL,
        partition_key VARCHAR,
        an8           BIGINT NOT NULL,
        target        VARCHAR NOT NULL,
        target_key    VARCHAR,
        outcome       VARCHAR NOT NULL,
        reason        VARCHAR,
        payload_hash  VARCHAR,
        payload       JSON,
        decided_at    TIMESTAMPTZ NOT NULL,
        resolved_by   VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS synced_state (
        target       VARCHAR NOT NULL,
        an8          BIGINT NOT NULL,
        target_key   VARCHAR NOT NULL,
        email        VARCHAR NOT NULL,
        payload_hash VARCHAR NOT NULL,
        tags         VARCHAR[] NOT NULL,
        run_id       VARCHAR,
        synced_at    TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    "ALTER TABLE synced_state ADD COLUMN IF NOT EXISTS an8s BIGINT[]",
    "UPDATE synced_state SET an8s = [an8] WHERE an8s IS NULL",
    """
    CREATE TABLE IF NOT EXISTS synced_rejections (
        target       VARCHAR NOT NULL,
        an8          BIGINT NOT NULL,
        payload_hash VARCHAR NOT NULL,
        title        VARCHAR NOT NULL,
        run_id       VARCHAR,
        rejected_at  TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS synced_departures (
        target      VARCHAR NOT NULL,
        an8         BIGINT NOT NULL,
        reason      VARCHAR NOT NULL,
        action      VARCHAR NOT NULL,
        target_key  VARCHAR,
        run_id      VARCHAR,
        left_at     TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (target, an8)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS sync_milestones (
        name       VARCHAR PRIMARY KEY,
        run_id     VARCHAR,
        reached_at TIMESTAMPTZ NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS mapping_events (
        run_id        VARCHAR NOT NULL,
        partition_key VARCHAR,
        an8           BIGINT NOT NULL,
        target        VARCHAR NOT NULL,
        event         VARCHAR NOT NULL,
        detail        VARCHAR,
        noted_at      TIMESTAMPTZ NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS jde_pulls_an8 ON jde_pulls (an8)",
    "CREATE INDEX IF NOT EXISTS mapped_values_an8 ON mapped_values (an8)",
    "CREATE INDEX IF NOT EXISTS mapping_events_an8 ON mapping_events (an8)",
    "CREATE INDEX IF NOT EXISTS mailchimp_writes_run ON mailchimp_writes (run_id)",
    "CREATE INDEX IF NOT EXISTS mailchimp_writes_key ON mailchimp_writes (target_key)",
    "CREATE INDEX IF NOT EXISTS sync_outcomes_an8 ON sync_outcomes (an8)",
    "CREATE INDEX IF NOT EXISTS sync_outcomes_run ON sync_outcomes (run_id)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit relations", STATEMENTS),
    Migration(
        2,
        "sync_runs.parent_run_id",
        ("ALTER TABLE sync_runs ADD COLUMN IF NOT EXISTS parent_run_id VARCHAR",),
    ),
    Migration(
        3,
        "drift_findings",
        (
            """
            CREATE TABLE IF NOT EXISTS drift_findings (
                run_id      VARCHAR NOT NULL,
                an8         BIGINT NOT NULL,
                target      VARCHAR NOT NULL,
                kind        VARCHAR NOT NULL,
                field       VARCHAR,
                ours        VARCHAR,
                theirs      VARCHAR,
                found_at    TIMESTAMPTZ NOT NULL,
                target_key  VARCHAR,
                resend      BOOLEAN NOT NULL,
                resolved_by VARCHAR
            )
            """,
            "CREATE INDEX IF NOT EXISTS drift_findings_an8 ON drift_findings (an8)",
        ),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version

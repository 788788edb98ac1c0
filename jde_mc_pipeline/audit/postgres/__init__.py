"""The audit store on PostgreSQL: the same relations, methods and guarantees as the DuckDB file, for
deployments whose runs live in separate containers (docs/audit.md, "On PostgreSQL")."""

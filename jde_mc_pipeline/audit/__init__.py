"""The DuckDB audit trail: relations, writers, last synced state, replay support."""

"""The audit trail: relations, writers, last synced state, replay support; in a DuckDB file (store.py,
state.py) or a PostgreSQL database (postgres/), chosen by backends.py."""

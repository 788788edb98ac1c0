"""A store of either backend: a DuckDB file, or a fresh PostgreSQL database upgraded to this release."""

from __future__ import annotations

import pytest

from jde_mc_pipeline.audit.backends import AnyAuditStore, open_store
from jde_mc_pipeline.audit.postgres.migrations import upgrade

BACKENDS = ("duckdb", "postgres")


def audit_location(request: pytest.FixtureRequest, backend: str) -> str:
    """Where a test's store lives: a DuckDB file of its own, or a fresh PostgreSQL database, upgraded."""
    if backend == "duckdb":
        return str(request.getfixturevalue("tmp_path") / "audit_trail.duckdb")
    url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest) -> str:
    """The location of an empty store of each backend (the PostgreSQL server starts only when asked)."""
    return audit_location(request, request.param)


@pytest.fixture
def store(location: str) -> AnyAuditStore:
    return open_store(location)

"""Fixtures shared across test folders: the tests' fixed clock, and the emulator fixtures, imported (not
redefined) from their folders."""

import itertools
from collections.abc import Iterator

import pytest

from jde_mc_pipeline.audit.postgres.connection import close_pools
from jde_mc_pipeline_tests.clock import on_fixed_clock
from jde_mc_pipeline_tests.jde.conftest import (  # noqa: F401
    jde_caller,
    jde_dataset,
    jde_emulator,
    jde_emulator_factory,
)
from jde_mc_pipeline_tests.mailchimp.conftest import (  # noqa: F401
    mailchimp_api,
    mailchimp_emulator,
    mailchimp_emulator_factory,
)
from jde_mc_pipeline_tests.postgres import PostgresServer

_databases = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def fixed_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each module on the tests' fixed clock (jde_mc_pipeline_tests/clock.py), set up before the module's
    own fixtures (autouse comes first in its scope), unless it is marked `real_clock`."""
    if request.node.get_closest_marker("real_clock"):
        yield
        return
    with on_fixed_clock():
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole session (jde_mc_pipeline_tests/postgres.py)."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database of its own for each test: its URL (with the password, as a user's would be).
    The audit's connection pools of this process are closed after the test: each holds connections to its
    database, and a session's worth of them would exceed the server's `max_connections`."""
    yield postgres_server.create_database(f"t{next(_databases)}")
    close_pools()

"""Fixtures for the automation tests: the sensor's JDE emulator, a Dagster instance, the definitions.

The definitions are built for the tests' deployment (partitions from 30 days before today, after every
stamp of the JDE test dataset); every test derives its dates from `START_DATE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta

import dagster as dg
import pytest
import requests

from jde_mc_pipeline.definitions import build_definitions
from jde_mc_pipeline.defs.resources import JdeAisResource, resources_from_env
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline_tests.defs.conftest import dagster_instance, sync_world  # noqa: F401
from jde_mc_pipeline_tests.deployment import DEPLOYMENT, START_DATE
from jde_mc_pipeline_tests.jde.conftest import emulator_dataset

SENSOR_NOW = datetime.combine(START_DATE + timedelta(days=10), time(12, 0))
"""JDE-local now of the sensor tests' emulator: ten days into the partitions."""


def post_rows(server: JdeEmulatorServer, table: str, rows: list[dict]) -> None:
    """Upsert rows through the emulator's control endpoint (UPMJ/UPMT stamped with its clock)."""
    response = requests.post(f"{server.url}/_emulator/tables/{table}/rows", json=rows, timeout=10)
    response.raise_for_status()


@pytest.fixture
def sensor_jde(jde_emulator_factory: Callable[..., JdeEmulatorServer]) -> JdeEmulatorServer:
    """An emulator holding the 30-party test dataset (all stamped before START_DATE), clock at SENSOR_NOW."""
    server = jde_emulator_factory(clock=ManualClock(SENSOR_NOW))
    for table, rows in emulator_dataset().items():
        post_rows(server, table, rows)
    return server


@pytest.fixture
def jde_resource(sensor_jde: JdeEmulatorServer) -> JdeAisResource:
    return JdeAisResource(
        base_url=sensor_jde.url, username="JDE", password="JDE", environment="JDV920", timezone="UTC"
    )


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(scope="session")
def defs() -> dg.Definitions:
    """The definitions of the tests' deployment (the sensor's resource is given to each tick)."""
    return build_definitions(DEPLOYMENT, resources_from_env({}))

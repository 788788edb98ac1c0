"""Fixtures of the Dagster tests: a Dagster test instance and the sync world (sync_world.py: both
emulators as real servers, the resources pointing at them, and a runner for the jobs over a partition
range). The definitions are built with `build_definitions(DEPLOYMENT, resources)`, as the code location
builds them from the environment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import pytest

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer
from jde_mc_pipeline_tests.defs.sync_world import DEMO_PARTIES, SYNC_DAY, SyncWorld


@pytest.fixture
def dagster_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def sync_world(
    tmp_path: Path,
    jde_emulator_factory: Callable[..., JdeEmulatorServer],
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
    dagster_instance: dg.DagsterInstance,
) -> SyncWorld:
    """Demo JDE data (300 parties, clock at noon of SYNC_DAY) and an empty Mailchimp audience, with the
    resources pointing at them and at files in tmp_path."""
    jde = jde_emulator_factory(
        demo=DEMO_PARTIES, seed=11, clock=ManualClock(dt.datetime.combine(SYNC_DAY, dt.time(12)))
    )
    mailchimp = mailchimp_emulator_factory(seed=7, batch_step_seconds=0.02)
    return SyncWorld(
        jde, mailchimp, str(tmp_path / "audit_trail.duckdb"), str(tmp_path / "staging"), dagster_instance
    )

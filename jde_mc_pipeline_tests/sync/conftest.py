"""Fixtures of the sync tests: both emulators as real servers, the project's clients on them, a DuckDB file.

- `mc_server`: a Mailchimp emulator that accepts the reserved domains of the JDE test dataset
  (`party1@example.com`, …), so that the sync itself, not the fake-address rule, is under test.
- `mc_client`: the project's `MailchimpClient` on it, with retries short enough for fault tests.
- `ais`: the project's `AisClient` on `jde_emulator` (30 parties, clock at DATASET_NOW).
- `store`: an `AuditStore` on a real file in tmp_path; `settings`: `SyncSettings` for `mc_server`.
- `sync(run_id)`: extract everything through DATASET_NOW's day and run the whole sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB as JOB
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import extract_through
from jde_mc_pipeline.mailchimp.client import MailchimpClient, RetryPolicy
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import BatchReport, sync_batch
from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

FAST_RETRY = RetryPolicy(max_attempts=3, max_total_s=10.0, base_wait_s=0.01, max_wait_s=0.05)


@pytest.fixture
def mc_server(mailchimp_emulator_factory):
    return mailchimp_emulator_factory(seed=7, fake_email_domains=(), batch_step_seconds=0.02)


@pytest.fixture
def mc_client(mc_server) -> Iterator[MailchimpClient]:
    client = MailchimpClient(
        mc_server.api_key, api_url=mc_server.api_url, retry=FAST_RETRY, timeout=(5.0, 10.0)
    )
    yield client
    client.close()


@pytest.fixture
def ais(jde_emulator) -> Iterator[AisClient]:
    client = AisClient(jde_emulator.url, "JDE", "JDE", environment="JDV920")
    yield client
    client.close()


@pytest.fixture
def store(tmp_path) -> AuditStore:
    return AuditStore(tmp_path / "audit_trail.duckdb")


@pytest.fixture
def settings(mc_server) -> SyncSettings:
    return SyncSettings(list_id=mc_server.list_id)


@pytest.fixture
def sync(ais, mc_client, store, settings) -> Callable[..., BatchReport]:
    def run(run_id: str, **kwargs) -> BatchReport:
        with ais:
            frames = extract_through(ais, DATASET_NOW.date()).frames
        return sync_batch(
            frames,
            mc_client,
            kwargs.pop("store", store),
            settings,
            run_id=run_id,
            job=JOB,
            today=DATASET_NOW.date(),
            **kwargs,
        )

    return run

"""The lifecycle story (sync/lifecycle.py) on 60 consecutive fixed dates across a month end and a year end,
through the core functions the Dagster assets call (no Dagster), over real HTTP to both emulators.

The demo data is generated relative to JDE's day and seeded with it, so each date tells another variant of
the story: other parties are chosen for each edit, with other phones, addresses and shared e-mails. A
story that held on the day it was written and broke on another is what this test exists to catch. Each
date runs on its own fixed clock (jde_mc_pipeline_tests/clock.py); defs/test_lifecycle.py runs the same
story through Dagster on the tests' default date.
"""

from __future__ import annotations

import datetime as dt

import pytest

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import MEMORY, AuditStore
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import Window
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.sync.scope import scope_changes
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import pull_window, sync_batch
from jde_mc_pipeline_tests.clock import on_fixed_clock
from jde_mc_pipeline_tests.sync.conftest import FAST_RETRY
from jde_mc_pipeline_tests.sync.lifecycle import DEMO_PARTIES, Book, Calendar, Story, outcome, run_story

FIRST_START = dt.date(2025, 11, 20)
"""The first date's JDE_START_DATE: its JDE days run from 2025-11-23 to 2026-01-23 over the 60 dates,
so the story's three days fall across the end of November, of December and of the year."""
FAILED_ONCE = dt.date(2026, 11, 7)
"""The story of 2026-12-07 (30 days later), when the holder of a shared e-mail with a phone was deleted
and the other party, without one, took the record: Mailchimp kept the phone, as the contract says."""
DATES = [FIRST_START + dt.timedelta(days=n) for n in range(60)] + [FAILED_ONCE]
JOB = "jde_to_mailchimp_sync"


class CoreRunner:
    """The sync job's stages, called as its assets call them: the pull of the partition range's UPMJ window
    (with the companions of the changed parties), the mapping against the synced state, members then
    customers."""

    def __init__(self, ais: AisClient, client: MailchimpClient, store: AuditStore, calendar: Calendar,
                 list_id: str) -> None:  # fmt: skip
        self.ais, self.client, self.store, self.calendar = ais, client, store, calendar
        self.settings = SyncSettings(list_id=list_id)
        self.runs = 0

    def _run_id(self, kind: str) -> str:
        self.runs += 1
        return f"{kind}-{self.runs}"

    def sync(self, first: dt.date, last: dt.date) -> str:
        window = Window.through(last) if first <= self.calendar.start else Window.days(first, last)
        with self.ais:
            pulled = pull_window(self.ais, DuckDBSyncedState(self.store), window)
        run_id = self._run_id("sync")
        report = sync_batch(
            pulled.frames, self.client, self.store, self.settings, run_id=run_id, job=JOB,
            deleted=pulled.deleted.tolist(),
        )  # fmt: skip
        assert report.reconciliation.ok, report.reconciliation.describe()
        return run_id

    def reconcile(self) -> str:
        with self.ais:
            found = scope_changes(self.ais, DuckDBSyncedState(self.store), self.settings.mapping)
        run_id = self._run_id("scope")
        report = sync_batch(
            found.frames, self.client, self.store, self.settings, run_id=run_id, job=JOB,
            deleted=found.deleted.tolist(),
        )  # fmt: skip
        assert report.reconciliation.ok, report.reconciliation.describe()
        return run_id


def story_on(start: dt.date) -> Story:
    """The story with partitions from `start`, the clock at the connector's today of that calendar."""
    calendar = Calendar(start)
    with on_fixed_clock(dt.datetime.combine(calendar.today, dt.time(12), tzinfo=dt.UTC)):
        clock = ManualClock(dt.datetime.combine(calendar.sync_day, dt.time(12)))
        jde = build_jde(demo=DEMO_PARTIES, seed=11, clock=clock).start()
        mailchimp = build_mailchimp(seed=7, batch_step_seconds=0.0).start()
        try:
            store = AuditStore(MEMORY)
            ais = AisClient(jde.url, "JDE", "JDE", environment="JDV920")
            with MailchimpClient(mailchimp.api_key, api_url=mailchimp.api_url, retry=FAST_RETRY) as client:
                runner = CoreRunner(ais, client, store, calendar, mailchimp.list_id)
                return run_story(Book(jde, mailchimp, clock, store), runner, calendar)
        finally:
            jde.stop()
            mailchimp.stop()


@pytest.mark.parametrize("start", DATES, ids=[d.isoformat() for d in DATES])
def test_the_lifecycle_story_holds_on_every_date(start: dt.date) -> None:
    story = story_on(start)
    for number, day in story.days.items():
        assert day.problems == [], (number, day.problems)
        assert day.rerun_writes == 0 or number == 1, number
    cast, last = story.cast, story.days[3]
    assert outcome(last, cast["D"].an8, "list_member")[0] == "left_scope:deleted_in_jde"
    assert outcome(last, cast["G"].an8, "list_member")[0] == "left_scope:no_role"
    assert outcome(story.days[2], cast["A"].an8, "list_member")[0] == "renamed"

"""Every departure has its outcome (docs/mapping.md, "Leaving scope"): a party that leaves scope while
another party keeps its Mailchimp record ends `left_scope:<reason>` with reason `kept: …` and gets its
`synced_departures` row, in the run that first sees it, over real HTTP to both emulators, a DuckDB file
and a Dagster instance.

The JDE side is the 30-party dataset of jde/conftest.py, on fixed days (the emulator's ManualClock and
fixed partitions; nothing depends on the machine's date):
- DAY1, the initial load, after four pairs of parties were made to share an e-mail: 1011 + 1012 (1012 a
  vendor now), 1013 + 1014 (1014 a customer through its customer-master row only), 1015 + 1016, and
  vendor 1021 alone.
- DAY2, JDE edits: 1011 renamed and 1012 purged (one side of a shared e-mail, pulled with its group by
  the partition run); 1021 purged and re-keyed as 1031 with the same e-mail (the new vendor's pull
  brings the old AN8's record); 1014's customer-master row deleted (its last role, without a trace)
  and 1016 purged (without a trace: only the scope reconciliation sees these two). One run of the DAY2
  partition, the same run again, then `jde_scope_reconciliation` twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import requests

from jde_mc_pipeline.definitions import build_definitions
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.mapping.outcomes import LEFT_DELETED_IN_JDE, LEFT_NO_ROLE, LEFT_SCOPE_PREFIX
from jde_mc_pipeline_tests.defs.sync_world import SyncWorld, check_results
from jde_mc_pipeline_tests.deployment import DEPLOYMENT
from jde_mc_pipeline_tests.jde.conftest import emulator_dataset
from jde_mc_pipeline_tests.sync import expected, support

DAY1, DAY2 = dt.date(2025, 11, 25), dt.date(2025, 11, 26)
SCOPE_JOB = "jde_scope_reconciliation"
KEPT = "kept"
"""The action of a departure whose record another party keeps; its reason begins `kept: ` (mapping.md)."""


@dataclass
class Story:
    """The runs of DAY2, what they recorded and what they wrote."""

    runs: dict[str, str] = field(default_factory=dict)
    """partition, partition_again, scope, scope_again → run id."""
    outcomes: pd.DataFrame | None = None
    departures: pd.DataFrame | None = None
    writes: dict[str, int] = field(default_factory=dict)
    """Mailchimp write requests each run made."""
    checks: dict[tuple[str, str], bool] = field(default_factory=dict)
    members: dict[str, dict] = field(default_factory=dict)


class World(SyncWorld):
    """Both emulators on the dataset, the audit file, and the definitions of a deployment whose first
    partition is DAY1."""

    def __init__(self, tmp: Any, instance: dg.DagsterInstance) -> None:
        self.clock = ManualClock(dt.datetime.combine(DAY1, dt.time(12)))
        jde = build_jde(clock=self.clock).start()
        for table, rows in emulator_dataset().items():
            support.jde_upsert(jde.url, table, rows)
        mailchimp = build_mailchimp(seed=7, fake_email_domains=(), batch_step_seconds=0.02).start()
        super().__init__(jde, mailchimp, str(tmp / "audit_trail.duckdb"), str(tmp / "staging"), instance)

    @property
    def definitions(self) -> dg.Definitions:
        return build_definitions(DEPLOYMENT.model_copy(update={"start_date": DAY1}), self.resources)

    def upsert(self, table: str, **row: Any) -> None:
        support.jde_upsert(self.jde.url, table, [support.prefixed(TABLES[table].prefix, row)])

    def purge(self, an8: int) -> None:
        """Every row of the party gone from the six tables, as a JDE purge leaves it: no trace."""
        for name, table in TABLES.items():
            reply = requests.get(f"{self.jde.url}/_emulator/rows/{name}", timeout=30)
            reply.raise_for_status()
            keys = [
                {table.db_name(k): row[table.db_name(k)] for k in table.key}
                for row in reply.json()["rows"]
                if row[table.db_name("AN8")] == an8
            ]
            if keys:
                support.jde_delete(self.jde.url, name, keys)

    def partition(self, day: dt.date, story: Story, name: str) -> None:
        before = support.write_requests(self.mailchimp)
        result = self.run(day, day)
        assert result.success, f"partition {day} failed"
        story.runs[name] = result.run_id
        story.writes[name] = support.write_requests(self.mailchimp) - before
        for (asset, check), evaluation in check_results(result).items():
            story.checks[(name, f"{asset}:{check}")] = evaluation.passed

    def reconcile(self, story: Story, name: str) -> None:
        before = support.write_requests(self.mailchimp)
        job = self.definitions.resolve_job_def(SCOPE_JOB)
        result = job.execute_in_process(instance=self.instance, raise_on_error=False)
        assert result.success, f"{SCOPE_JOB} failed"
        story.runs[name] = result.run_id
        story.writes[name] = support.write_requests(self.mailchimp) - before


def share_emails(world: World) -> None:
    """DAY1: the pairs of the module doc, stamped on DAY1 (the second of each pair changed last)."""
    world.upsert("F01151", AN8=1012, IDLN=0, RCK7=1, ETP="E", EMAL="party11@example.com")
    world.upsert("F0101", AN8=1012, AT1="V")
    support.jde_delete(world.jde.url, "F03012", [{"AIAN8": 1012, "AICO": "00000"}])
    world.upsert("F01151", AN8=1014, IDLN=0, RCK7=1, ETP="E", EMAL="party13@example.com")
    world.upsert("F0101", AN8=1014, AT1="E")  # an employee, a customer by its customer-master row
    world.upsert("F01151", AN8=1016, IDLN=0, RCK7=1, ETP="E", EMAL="party15@example.com")


def day2_edits(world: World) -> None:
    world.upsert("F0111", AN8=1011, IDLN=0, GNNM="Renamed")
    world.purge(1012)
    world.purge(1021)
    world.upsert("F0101", AN8=1031, ALPH="Party 21 Rekeyed", AT1="V")
    world.upsert("F0111", AN8=1031, IDLN=0, MLNM="Party 21 Rekeyed", ALPH="Party 21 Rekeyed")
    world.upsert("F01151", AN8=1031, IDLN=0, RCK7=1, ETP="E", EMAL="party21@example.com")
    support.jde_delete(world.jde.url, "F03012", [{"AIAN8": 1014, "AICO": "00000"}])
    world.purge(1016)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    with dg.instance_for_test() as instance:
        world = World(tmp_path_factory.mktemp("departures"), instance)
        try:
            yield tell(world)
        finally:
            world.jde.stop()
            world.mailchimp.stop()


def tell(world: World) -> Story:
    story = Story()
    share_emails(world)
    assert world.run(DAY1, DAY1).success, "initial load failed"
    world.clock.set(dt.datetime.combine(DAY2, dt.time(12)))
    day2_edits(world)
    world.partition(DAY2, story, "partition")
    world.partition(DAY2, story, "partition_again")
    world.reconcile(story, "scope")
    world.reconcile(story, "scope_again")
    story.outcomes = pd.DataFrame(
        support.rows(world.store, "SELECT run_id, an8, target, outcome, reason FROM sync_outcomes"),
        columns=["run_id", "an8", "target", "outcome", "reason"],
    )
    story.departures = pd.DataFrame(
        support.rows(world.store, "SELECT target, an8, reason, action, run_id FROM synced_departures"),
        columns=["target", "an8", "reason", "action", "run_id"],
    )
    story.members, _ = expected.mailchimp_state(world.mailchimp)
    return story


def outcomes_of(story: Story, run: str, an8: int) -> dict[str, tuple[str, str]]:
    rows = story.outcomes.loc[(story.outcomes["run_id"] == story.runs[run]) & (story.outcomes["an8"] == an8)]
    assert not rows.duplicated(["target"]).any(), rows
    return {t: (o, r) for t, o, r in rows[["target", "outcome", "reason"]].itertuples(index=False)}


def owned(member: dict) -> set[str]:
    return {t["name"] for t in member["tags"]} & expected.OWNED_TAGS


@pytest.mark.parametrize(
    ("an8", "run", "why"),
    [
        (1012, "partition", LEFT_DELETED_IN_JDE),  # one side of a shared e-mail, pulled with its group
        (1021, "partition", LEFT_DELETED_IN_JDE),  # re-keyed: pulled with the new AN8's e-mail
        (1014, "scope", LEFT_NO_ROLE),  # its last role gone without a trace
        (1016, "scope", LEFT_DELETED_IN_JDE),  # purged without a trace
    ],
)
def test_a_party_leaving_a_record_another_keeps_gets_its_outcome_in_the_run_that_sees_it(
    story: Story, an8: int, run: str, why: str
) -> None:
    found = outcomes_of(story, run, an8)
    assert set(found) == set(TARGETS)
    for target, (outcome, reason) in found.items():
        assert outcome == LEFT_SCOPE_PREFIX + why, (an8, target)
        assert reason.startswith(f"{KEPT}: "), (an8, target, reason)
    rows = story.departures.loc[story.departures["an8"] == an8]
    assert sorted(rows["target"]) == sorted(TARGETS)
    assert set(rows["reason"]) == {why} and set(rows["action"]) == {KEPT}
    assert set(rows["run_id"]) == {story.runs[run]}


def test_the_parties_still_using_the_records_hold_them(story: Story) -> None:
    for email, holder, tags in (
        ("party11@example.com", 1011, {"JDE Customer"}),  # the vendor role left with 1012 (role_lost)
        ("party21@example.com", 1031, {"JDE Vendor"}),
        ("party13@example.com", 1013, {"JDE Customer"}),
        ("party15@example.com", 1015, {"JDE Customer"}),
    ):
        member = story.members[email]
        assert member["merge_fields"]["JDEAN8"] == str(holder), email
        assert owned(member) == tags, email
        assert member["status"] == "subscribed", email


def test_every_party_a_run_pulled_has_one_outcome_per_target(story: Story) -> None:
    assert story.checks and all(story.checks.values()), story.checks  # the partition runs' reconciliation
    for run in ("partition", "scope"):
        rows = story.outcomes.loc[story.outcomes["run_id"] == story.runs[run]]
        per_party = rows.groupby("an8")["target"].agg(sorted)
        assert all(targets == sorted(TARGETS) for targets in per_party), per_party


@pytest.mark.parametrize("run", ["partition_again", "scope_again"])
def test_running_again_writes_nothing_and_decides_no_departure_twice(story: Story, run: str) -> None:
    assert story.writes[run] == 0
    again = story.outcomes.loc[story.outcomes["run_id"] == story.runs[run]]
    assert not again["an8"].isin([1012, 1021, 1014, 1016]).any(), again
    assert not again["outcome"].str.startswith(LEFT_SCOPE_PREFIX).any(), again
    assert not story.departures.duplicated(["target", "an8"]).any()

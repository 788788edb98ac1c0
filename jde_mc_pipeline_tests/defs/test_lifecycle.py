"""The lifecycle story (jde_mc_pipeline_tests/sync/lifecycle.py) as a user runs it: Dagster
materializations of consecutive UPMJ partitions and the nightly `jde_scope_reconciliation`, over real HTTP
to both emulators and a DuckDB file, on the tests' fixed clock (jde_mc_pipeline_tests/clock.py).
sync/test_lifecycle_dates.py runs the same story through the core for many other dates.

The whole story runs once per module (module-scoped fixture); each test checks one part of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected
from jde_mc_pipeline_tests.sync.lifecycle import (
    DEMO_PARTIES,
    DOMAIN,
    Book,
    Calendar,
    Story,
    outcome,
    run_story,
)

CALENDAR = Calendar(START_DATE)
assert CALENDAR.sync_day == SYNC_DAY


class World(SyncWorld):
    """Both emulators, the audit file and a Dagster instance; runs jobs as the UI would."""

    def __init__(self, tmp: Any, instance: dg.DagsterInstance) -> None:
        self.clock = ManualClock(dt.datetime.combine(SYNC_DAY, dt.time(12)))
        jde = build_jde(demo=DEMO_PARTIES, seed=11, clock=self.clock).start()
        mailchimp = build_mailchimp(seed=7, batch_step_seconds=0.02).start()
        super().__init__(jde, mailchimp, str(tmp / "audit_trail.duckdb"), str(tmp / "staging"), instance)

    def sync(self, first: dt.date, last: dt.date) -> str:
        result = self.run(first, last)
        assert result.success, f"sync {first}...{last} failed"
        return result.run_id

    def reconcile(self) -> str:
        job = self.definitions.resolve_job_def("jde_scope_reconciliation")
        result = job.execute_in_process(instance=self.instance, raise_on_error=False)
        assert result.success, "jde_scope_reconciliation failed"
        return result.run_id

    def stop(self) -> None:
        self.jde.stop()
        self.mailchimp.stop()


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    with dg.instance_for_test() as instance:
        world = World(tmp, instance)
        try:
            yield run_story(Book(world.jde, world.mailchimp, world.clock, world.store), world, CALENDAR)
        finally:
            world.stop()


@pytest.mark.parametrize("number", [1, 2, 3])
def test_after_each_day_mailchimp_equals_the_contract_applied_to_jde(story: Story, number: int) -> None:
    assert story.days[number].problems == []


@pytest.mark.parametrize("number", [2, 3])
def test_running_a_day_again_makes_no_mailchimp_write(story: Story, number: int) -> None:
    assert story.days[number].rerun_writes == 0


@pytest.mark.parametrize("number", [2, 3])
def test_no_member_is_lost_from_one_day_to_the_next(story: Story, number: int) -> None:
    before = {m["contact_id"] for m in story.days[number - 1].members.values()}
    after = {m["contact_id"] for m in story.days[number].members.values()}
    assert before <= after


def test_an_email_change_onto_a_free_address_renames_member_and_customer(story: Story) -> None:
    a, day = story.cast["A"], story.days[2]
    assert outcome(day, a.an8, "list_member")[0] == "renamed"
    assert outcome(day, a.an8, "ecommerce_customer")[0] == "renamed"
    old, new = story.days[1].members[a.email], day.members[f"a.renamed@{DOMAIN}"]
    assert old["contact_id"] == new["contact_id"]  # the same person, history kept
    assert a.email not in day.members and expected.subscriber_hash(a.email) not in day.customers


def test_an_email_change_onto_a_taken_address_deletes_nothing_before_its_replacement(story: Story) -> None:
    b, c, day = story.cast["B"], story.cast["C"], story.days[2]
    assert outcome(day, b.an8, "ecommerce_customer")[0] == "renamed"  # B now holds C's e-mail's customer
    assert outcome(day, c.an8, "ecommerce_customer") == ("merged", f"holder:{b.an8}")
    taken = day.customers[expected.subscriber_hash(c.email)]
    assert taken["company"] == b.company  # B changed last: its fields win
    assert expected.subscriber_hash(b.email) not in day.customers  # deleted after the new one was written
    old = day.members[b.email]  # the old contact stays, without the owned tags
    assert old["status"] == "subscribed" and not {t["name"] for t in old["tags"]} & expected.OWNED_TAGS
    assert not day.outcomes["outcome"].str.startswith("rejected:").any()


def test_one_side_of_a_shared_email_changing_folds_the_whole_group(story: Story) -> None:
    group, holder, day = story.cast["S"], story.cast["S_holder"], story.days[2]
    merged = next(p for p in group if p.an8 != holder.an8)
    assert outcome(day, merged.an8, "list_member")[0] == "updated"  # it changed last: it holds now
    assert outcome(day, holder.an8, "list_member") == ("merged", f"holder:{merged.an8}")
    assert outcome(day, holder.an8, "ecommerce_customer") == ("merged", f"holder:{merged.an8}")
    member = day.members[holder.email]
    assert member["merge_fields"]["JDEAN8"] == str(merged.an8)
    assert {t["name"] for t in member["tags"]} & expected.OWNED_TAGS == holder.tags | merged.tags
    rows = story.state.loc[story.state["email"] == holder.email]
    assert sorted(rows["target"]) == ["ecommerce_customer", "list_member"]  # one row per record
    assert all(sorted(group_an8s) == sorted(p.an8 for p in group) for group_an8s in rows["an8s"])


def test_ordinary_edits_of_day_two_reach_mailchimp(story: Story) -> None:
    cast, day = story.cast, story.days[2]
    assert outcome(day, cast["N"], "list_member")[0] == "created"
    assert outcome(day, cast["Q"].an8, "list_member")[0] == "created"
    assert day.members[cast["P"].email]["merge_fields"]["ADDRESS"]["addr1"] == "77 Lifecycle Road"
    assert day.members[cast["R"].email]["merge_fields"]["PHONE"] == "217 555 0199"
    assert day.members[cast["U"].email]["merge_fields"]["FNAME"] == "Ursula"
    assert day.members[cast["U"].email]["status"] == "unsubscribed"  # the person's choice stays
    assert {t["name"] for t in day.members[cast["V1"].email]["tags"]} & expected.OWNED_TAGS == {
        "JDE Customer"
    }


def test_deleted_and_departed_parties_leave_scope_with_the_default_action(story: Story) -> None:
    cast, day = story.cast, story.days[3]
    for party, why in ((cast["D"], "deleted_in_jde"), (cast["G"], "no_role")):
        for target in ("list_member", "ecommerce_customer"):
            assert outcome(day, party.an8, target)[0] == f"left_scope:{why}", (party.an8, target)
        member = day.members[party.email]
        assert (
            member["status"] == "subscribed" and not {t["name"] for t in member["tags"]} & expected.OWNED_TAGS
        )
        assert expected.subscriber_hash(party.email) in day.customers  # untag leaves the customer


def test_a_role_lost_without_a_trace_is_found_by_the_reconciliation(story: Story) -> None:
    v2, day = story.cast["V2"], story.days[3]
    assert {t["name"] for t in story.days[2].members[v2.email]["tags"]} & expected.OWNED_TAGS == {
        "JDE Customer",
        "JDE Vendor",
    }
    assert {t["name"] for t in day.members[v2.email]["tags"]} & expected.OWNED_TAGS == {"JDE Vendor"}


def test_the_holder_of_a_shared_email_deleted_leaves_the_record_to_the_other(story: Story) -> None:
    holder, day = story.cast["S2_holder"], story.days[3]
    other = next(p for p in story.cast["S2"] if p.an8 != holder.an8)
    assert outcome(day, holder.an8, "list_member")[0] == "left_scope:deleted_in_jde"
    assert outcome(day, other.an8, "list_member")[0] == "updated"
    assert day.members[holder.email]["merge_fields"]["JDEAN8"] == str(other.an8)


def test_mapping_events_say_which_party_had_which(story: Story) -> None:
    b, s = story.cast["B"], story.cast["S"]
    assert {
        (b.an8, target, "email_taken") for target in ("list_member", "ecommerce_customer")
    } <= story.events
    assert (b.an8, "list_member", "old_member_left") in story.events
    assert {(p.an8, "list_member", "email_collision") for p in s} <= story.events
    assert (story.cast["V1"].an8, "list_member", "role_lost") in story.events

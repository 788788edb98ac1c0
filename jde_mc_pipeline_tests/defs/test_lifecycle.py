"""Three days in the life of the connector, as a user runs it: Dagster materializations of consecutive
UPMJ partitions and the nightly scope reconciliation, over real HTTP to both emulators and a DuckDB file.

- Day 1: the initial load of the demo address book (the range START_DATE ... SYNC_DAY).
- Day 2: ordinary JDE edits stamped on day 2, in all six tables: an e-mail moved onto a free address and
  one onto an address another party's records hold, a role changed, a role added, an address taking
  effect, a phone changed, a new party, one side of a shared e-mail changed, a quarantined party fixed,
  and a contact who unsubscribed in Mailchimp meanwhile. One run of the day-2 partition.
- Day 3: deletions (rows gone from JDE, which leaves no trace), a party leaving scope, a role lost by
  deleting its customer-master row, and the holder of a shared e-mail deleted. One run of the day-3
  partition, then `jde_scope_reconciliation`.

After each day Mailchimp, read back through its API, must equal the contract applied to the JDE rows
(computed independently in sync/expected.py), except what the contract keeps on purpose (the
unsubscribe, and the records of parties that left or moved away, kept with their owned tags inactive);
no member may disappear; and running the day again makes no Mailchimp write.

The whole story runs once per module (module-scoped fixture); each test checks one part of it.
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

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline_tests.defs.conftest import DEMO_PARTIES, SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

DAY2, DAY3 = SYNC_DAY + dt.timedelta(days=1), SYNC_DAY + dt.timedelta(days=2)
DOMAIN = "jde-lifecycle.net"
PREFIX = {"F0101": "AB", "F03012": "AI", "F0116": "AL", "F01151": "EA", "F0115": "WP", "F0111": "WW"}
KEYS = {
    "F0101": ("AN8",),
    "F03012": ("AN8", "CO"),
    "F0116": ("AN8", "EFTB"),
    "F01151": ("AN8", "IDLN", "RCK7"),
    "F0115": ("AN8", "IDLN", "RCK7"),
    "F0111": ("AN8", "IDLN"),
}


@dataclass
class Day:
    """What the world looked like after a day's runs, and what they did."""

    run_ids: list[str]
    members: dict[str, dict]
    customers: dict[str, dict]
    problems: list[str]
    rerun_writes: int
    outcomes: pd.DataFrame


@dataclass
class Story:
    """The parties each edit touched, and every day's result."""

    cast: dict[str, Any] = field(default_factory=dict)
    days: dict[int, Day] = field(default_factory=dict)
    state: pd.DataFrame | None = None
    events: set[tuple[int, str, str]] = field(default_factory=set)


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

    def rows(self, table: str, an8: int) -> list[dict[str, Any]]:
        reply = requests.get(f"{self.jde.url}/_emulator/rows/{table}", timeout=30)
        reply.raise_for_status()
        return [row for row in reply.json()["rows"] if row[PREFIX[table] + "AN8"] == an8]

    def upsert(self, table: str, *rows: dict[str, Any]) -> None:
        support.jde_upsert(self.jde.url, table, [{PREFIX[table] + k: v for k, v in r.items()} for r in rows])

    def delete_party(self, an8: int) -> None:
        """Every row of the party gone from all six tables, as a JDE purge leaves it."""
        for table, key in KEYS.items():
            keys = [{PREFIX[table] + k: row[PREFIX[table] + k] for k in key} for row in self.rows(table, an8)]
            if keys:
                support.jde_delete(self.jde.url, table, keys)

    def writes(self) -> int:
        return support.write_requests(self.mailchimp)

    def outcomes(self, run_ids: list[str]) -> pd.DataFrame:
        marks = ", ".join("?" for _ in run_ids)
        found = support.rows(
            self.store,
            "SELECT run_id, an8, target, target_key, outcome, reason FROM sync_outcomes "
            f"WHERE run_id IN ({marks})",
            run_ids,
        )
        return pd.DataFrame(found, columns=["run_id", "an8", "target", "target_key", "outcome", "reason"])

    def stop(self) -> None:
        self.jde.stop()
        self.mailchimp.stop()


def choose_cast(world: World) -> dict[str, Any]:
    """Parties of the demo book fit for each edit (deterministic for the demo's seed)."""
    found = expected.parties(world.jde.url, jde_now("UTC").day)
    groups = expected.sharing(found)
    masters = {int(r["AN8"]) for r in expected.raw_rows(world.jde.url)["F03012"]}

    def one_email_row(party: expected.Party) -> bool:
        return len([r for r in world.rows("F01151", party.an8) if str(r["EAETP"]).strip() == "E"]) == 1

    alone = [
        p
        for p in sorted(found.values(), key=lambda p: p.an8)
        if p.email and p.in_scope and len(groups[p.email]) == 1 and one_email_row(p)
    ]
    settled = {
        an8
        for an8 in found
        if all((expected.julian(r["ALEFTB"]) or dt.date.min) <= SYNC_DAY for r in world.rows("F0116", an8))
    }
    customers = [p for p in alone if p.is_customer and not p.is_vendor and p.an8 in settled]
    vendors = [p for p in alone if p.is_vendor and not p.is_customer and p.an8 not in masters]
    shared = [sorted(g, key=lambda p: p.an8) for g in groups.values() if len(g) == 2]
    quarantined = [
        p
        for p in sorted(found.values(), key=lambda p: p.an8)
        if p.in_scope and p.email_problem == "no_email" and not world.rows("F01151", p.an8)
    ]
    assert len(customers) >= 8 and len(vendors) >= 3 and len(shared) >= 2 and quarantined
    holders = expected.holders(found)
    cast = {
        "A": customers[0],
        "B": customers[1],
        "C": customers[2],
        "P": customers[3],
        "R": customers[4],
        "U": customers[5],
        "D": customers[6],
        "V1": vendors[0],
        "V2": vendors[1],
        "G": vendors[2],
        "Q": quarantined[0],
        "S": shared[0],
        "S2": shared[1],
        "N": max(found) + 100,
    }
    cast["S_holder"] = holders[shared[0][0].email]
    cast["S2_holder"] = holders[shared[1][0].email]
    return cast


def day2_edits(world: World, cast: dict[str, Any]) -> None:
    a, b, c = cast["A"], cast["B"], cast["C"]
    for party, email in ((a, f"a.renamed@{DOMAIN}"), (b, c.email)):
        [row] = [r for r in world.rows("F01151", party.an8) if str(r["EAETP"]).strip() == "E"]
        world.upsert(
            "F01151", {"AN8": party.an8, "IDLN": row["EAIDLN"], "RCK7": row["EARCK7"], "EMAL": email}
        )
    world.upsert("F0101", {"AN8": cast["V1"].an8, "AT1": "C"})  # a vendor becomes a customer
    world.upsert("F03012", {"AN8": cast["V2"].an8, "CO": "00001"})  # a vendor is also a customer now
    world.upsert(
        "F0116",
        {
            "AN8": cast["P"].an8,
            "EFTB": to_julian(DAY2),
            "ADD1": "77 Lifecycle Road",
            "CTY1": "Springfield",
            "ADDS": "IL",
            "ADDZ": "62701",
            "CTR": "US",
        },
    )
    world.upsert(
        "F0115", {"AN8": cast["R"].an8, "IDLN": 0, "RCK7": 1, "PHTP": "", "AR1": "217", "PH1": "555 0199"}
    )
    n = cast["N"]
    world.upsert("F0101", {"AN8": n, "ALPH": "Newcomer Supply Co", "AT1": "C"})
    world.upsert("F0111", {"AN8": n, "IDLN": 0, "GNNM": "Nia", "SRNM": "Newcomer"})
    world.upsert("F01151", {"AN8": n, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": f"nia@{DOMAIN}"})
    merged = next(p for p in cast["S"] if p.an8 != cast["S_holder"].an8)
    world.upsert("F0101", {"AN8": merged.an8, "ALPH": "Merged Party Renamed"})  # only the merged side changes
    world.upsert(
        "F01151", {"AN8": cast["Q"].an8, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": f"fixed@{DOMAIN}"}
    )
    world.upsert("F0111", {"AN8": cast["U"].an8, "IDLN": 0, "GNNM": "Ursula"})


def day3_edits(world: World, cast: dict[str, Any]) -> None:
    world.delete_party(cast["D"].an8)
    world.upsert("F0101", {"AN8": cast["G"].an8, "AT1": "E"})  # a vendor becomes an employee
    support.jde_delete(world.jde.url, "F03012", [{"AIAN8": cast["V2"].an8, "AICO": "00001"}])
    world.delete_party(cast["S2_holder"].an8)


def finish_day(
    world: World, run_ids: list[str], rerun: list, found_today: dict, **exceptions: set[str]
) -> Day:
    members, customers = expected.mailchimp_state(world.mailchimp)
    problems = expected.mismatches(world.mailchimp, found_today, **exceptions)
    before = world.writes()
    for again in rerun:
        again()
    return Day(run_ids, members, customers, problems, world.writes() - before, world.outcomes(run_ids))


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> Iterator[Story]:
    tmp = tmp_path_factory.mktemp("lifecycle")
    with dg.instance_for_test() as instance:
        world = World(tmp, instance)
        try:
            yield run_story(world)
        finally:
            world.stop()


def run_story(world: World) -> Story:
    story = Story()
    today = jde_now("UTC").day
    first = world.sync(START_DATE, SYNC_DAY)
    story.days[1] = finish_day(world, [first], [], expected.parties(world.jde.url, today))
    cast = story.cast = choose_cast(world)
    unsubscribed = {cast["U"].email}
    hash_u = expected.subscriber_hash(cast["U"].email)
    support.control(world.mailchimp, "POST", f"lists/{world.mailchimp.list_id}/members/{hash_u}/unsubscribe")

    world.clock.set(dt.datetime.combine(DAY2, dt.time(12)))
    day2_edits(world, cast)
    second = world.sync(DAY2, DAY2)
    moved_away = {cast["B"].email}
    story.days[2] = finish_day(
        world,
        [second],
        [lambda: world.sync(DAY2, DAY2)],
        expected.parties(world.jde.url, today),
        unsubscribed=unsubscribed,
        leftover_members=moved_away,
    )

    world.clock.set(dt.datetime.combine(DAY3, dt.time(12)))
    day3_edits(world, cast)
    third = world.sync(DAY3, DAY3)
    reconciled = world.reconcile()
    left = {cast["D"].email, cast["G"].email}
    story.days[3] = finish_day(
        world,
        [third, reconciled],
        [lambda: world.sync(DAY3, DAY3), world.reconcile],
        expected.parties(world.jde.url, today),
        unsubscribed=unsubscribed,
        leftover_members=moved_away | left,
        leftover_customers=left,
    )
    story.events = set(support.rows(world.store, "SELECT an8, target, event FROM mapping_events"))
    story.state = pd.DataFrame(
        support.rows(world.store, "SELECT target, an8, target_key, email, an8s FROM synced_state"),
        columns=["target", "an8", "target_key", "email", "an8s"],
    )
    return story


def outcome(day: Day, an8: int, target: str) -> tuple[str, str]:
    rows = day.outcomes.loc[(day.outcomes["an8"] == an8) & (day.outcomes["target"] == target)]
    assert len(rows) == 1, (an8, target, rows)
    return rows["outcome"].iloc[0], rows["reason"].iloc[0]


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

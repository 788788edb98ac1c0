"""Three days in the life of the connector: the story that defs/test_lifecycle.py runs through Dagster and
sync/test_lifecycle_dates.py runs through the core for many fixed dates.

- Day 1: the initial load of the demo address book (the range `start ... sync_day`).
- Day 2: ordinary JDE edits stamped on day 2, in all six tables: an e-mail moved onto a free address and
  one onto an address another party's records hold, a role changed, a role added, an address taking
  effect, a phone changed, a new party, one side of a shared e-mail changed, a quarantined party fixed,
  and a contact who unsubscribed in Mailchimp meanwhile. One run of the day-2 partition.
- Day 3: deletions (rows gone from JDE, which leaves no trace), a party leaving scope, a role lost by
  deleting its customer-master row, and the holder of a shared e-mail deleted. One run of the day-3
  partition, then the scope reconciliation.

After each day Mailchimp, read back through its API, must equal the contract applied to the JDE rows
(computed independently in sync/expected.py), except what the contract keeps on purpose (the
unsubscribe, the records of parties that left or moved away, kept with their owned tags inactive, and a
blank JDE value, which leaves Mailchimp's as it was the day before); no member may disappear; and running
the day again makes no Mailchimp write.

The demo data is generated relative to JDE's day and seeded with it, so each calendar date tells its own
variant of the story: the parties of each edit are chosen from the data (`choose_cast`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
import requests

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline_tests.sync import expected, support

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
DEMO_PARTIES = 300
"""Enough parties for every edit of the story to find its case in the demo data, on any date."""


@dataclass(frozen=True)
class Calendar:
    """The story's days: partitions from `start`; JDE's day 1 is three days later; the connector's
    clock reads `today` (30 days after `start`, as a deployment some weeks old)."""

    start: dt.date

    @property
    def sync_day(self) -> dt.date:
        return self.start + dt.timedelta(days=3)

    def day(self, number: int) -> dt.date:
        return self.sync_day + dt.timedelta(days=number - 1)

    @property
    def today(self) -> dt.date:
        return self.start + dt.timedelta(days=30)


class Runner(Protocol):
    """How the story's runs are made: Dagster materializations, or the core's functions."""

    def sync(self, first: dt.date, last: dt.date) -> str: ...
    def reconcile(self) -> str: ...


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


class Book:
    """The JDE emulator's rows and Mailchimp's request count, read and changed through their control
    endpoints, and the audit the runs wrote."""

    def __init__(self, jde: Any, mailchimp: Any, clock: ManualClock, store: AuditStore) -> None:
        self.jde, self.mailchimp, self.clock, self.store = jde, mailchimp, clock, store

    def rows(self, table: str, an8: int) -> list[dict[str, Any]]:
        return self.table(table).get(an8, [])

    def table(self, table: str) -> dict[int, list[dict[str, Any]]]:
        """The table's rows as JDE holds them now, by AN8."""
        reply = requests.get(f"{self.jde.url}/_emulator/rows/{table}", timeout=30)
        reply.raise_for_status()
        by_an8: dict[int, list[dict[str, Any]]] = {}
        for row in reply.json()["rows"]:
            by_an8.setdefault(row[PREFIX[table] + "AN8"], []).append(row)
        return by_an8

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


def choose_cast(book: Book, calendar: Calendar) -> dict[str, Any]:
    """Parties of the demo book fit for each edit (deterministic for the demo's seed and day)."""
    found = expected.parties(book.jde.url, calendar.today)
    groups = expected.sharing(found)
    masters = {int(r["AN8"]) for r in expected.raw_rows(book.jde.url)["F03012"]}

    emails, addresses = book.table("F01151"), book.table("F0116")

    def one_email_row(party: expected.Party) -> bool:
        return len([r for r in emails.get(party.an8, []) if str(r["EAETP"]).strip() == "E"]) == 1

    alone = [
        p
        for p in sorted(found.values(), key=lambda p: p.an8)
        if p.email and p.in_scope and len(groups[p.email]) == 1 and one_email_row(p)
    ]

    def effective_by_day_one(an8: int) -> bool:
        dates = (expected.julian(r["ALEFTB"]) or dt.date.min for r in addresses.get(an8, []))
        return all(day <= calendar.sync_day for day in dates)

    settled = {an8 for an8 in found if effective_by_day_one(an8)}
    customers = [p for p in alone if p.is_customer and not p.is_vendor and p.an8 in settled]
    vendors = [p for p in alone if p.is_vendor and not p.is_customer and p.an8 not in masters]
    shared = [sorted(g, key=lambda p: p.an8) for g in groups.values() if len(g) == 2]
    quarantined = [
        p
        for p in sorted(found.values(), key=lambda p: p.an8)
        if p.in_scope and p.email_problem == "no_email" and p.an8 not in emails
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


def day2_edits(book: Book, cast: dict[str, Any], day: dt.date) -> None:
    a, b, c = cast["A"], cast["B"], cast["C"]
    for party, email in ((a, f"a.renamed@{DOMAIN}"), (b, c.email)):
        [row] = [r for r in book.rows("F01151", party.an8) if str(r["EAETP"]).strip() == "E"]
        book.upsert("F01151", {"AN8": party.an8, "IDLN": row["EAIDLN"], "RCK7": row["EARCK7"], "EMAL": email})
    book.upsert("F0101", {"AN8": cast["V1"].an8, "AT1": "C"})  # a vendor becomes a customer
    book.upsert("F03012", {"AN8": cast["V2"].an8, "CO": "00001"})  # a vendor is also a customer now
    book.upsert(
        "F0116",
        {
            "AN8": cast["P"].an8,
            "EFTB": to_julian(day),
            "ADD1": "77 Lifecycle Road",
            "CTY1": "Springfield",
            "ADDS": "IL",
            "ADDZ": "62701",
            "CTR": "US",
        },
    )
    book.upsert(
        "F0115", {"AN8": cast["R"].an8, "IDLN": 0, "RCK7": 1, "PHTP": "", "AR1": "217", "PH1": "555 0199"}
    )
    n = cast["N"]
    book.upsert("F0101", {"AN8": n, "ALPH": "Newcomer Supply Co", "AT1": "C"})
    book.upsert("F0111", {"AN8": n, "IDLN": 0, "GNNM": "Nia", "SRNM": "Newcomer"})
    book.upsert("F01151", {"AN8": n, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": f"nia@{DOMAIN}"})
    merged = next(p for p in cast["S"] if p.an8 != cast["S_holder"].an8)
    book.upsert("F0101", {"AN8": merged.an8, "ALPH": "Merged Party Renamed"})  # only the merged side changes
    book.upsert("F01151", {"AN8": cast["Q"].an8, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": f"fixed@{DOMAIN}"})
    book.upsert("F0111", {"AN8": cast["U"].an8, "IDLN": 0, "GNNM": "Ursula"})


def day3_edits(book: Book, cast: dict[str, Any]) -> None:
    book.delete_party(cast["D"].an8)
    book.upsert("F0101", {"AN8": cast["G"].an8, "AT1": "E"})  # a vendor becomes an employee
    support.jde_delete(book.jde.url, "F03012", [{"AIAN8": cast["V2"].an8, "AICO": "00001"}])
    book.delete_party(cast["S2_holder"].an8)


def finish_day(
    book: Book, calendar: Calendar, run_ids: list[str], rerun: list, before: dict, **exceptions: set[str]
) -> Day:
    members, customers = expected.mailchimp_state(book.mailchimp)
    found = expected.parties(book.jde.url, calendar.today)
    problems = expected.mismatches(book.mailchimp, found, before=before, **exceptions)
    writes = book.writes()
    for again in rerun:
        again()
    return Day(run_ids, members, customers, problems, book.writes() - writes, book.outcomes(run_ids))


def run_story(book: Book, runner: Runner, calendar: Calendar) -> Story:
    """The three days (module doc), each checked against the contract and run again."""
    story = Story()
    first = runner.sync(calendar.start, calendar.sync_day)
    story.days[1] = finish_day(book, calendar, [first], [], before={})
    cast = story.cast = choose_cast(book, calendar)
    unsubscribed = {cast["U"].email}
    hash_u = expected.subscriber_hash(cast["U"].email)
    support.control(book.mailchimp, "POST", f"lists/{book.mailchimp.list_id}/members/{hash_u}/unsubscribe")

    day2, day3 = calendar.day(2), calendar.day(3)
    book.clock.set(dt.datetime.combine(day2, dt.time(12)))
    day2_edits(book, cast, day2)
    second = runner.sync(day2, day2)
    moved_away = {cast["B"].email}
    story.days[2] = finish_day(
        book,
        calendar,
        [second],
        [lambda: runner.sync(day2, day2)],
        before=story.days[1].members,
        unsubscribed=unsubscribed,
        leftover_members=moved_away,
    )

    book.clock.set(dt.datetime.combine(day3, dt.time(12)))
    day3_edits(book, cast)
    third = runner.sync(day3, day3)
    reconciled = runner.reconcile()
    left = {cast["D"].email, cast["G"].email}
    story.days[3] = finish_day(
        book,
        calendar,
        [third, reconciled],
        [lambda: runner.sync(day3, day3), runner.reconcile],
        before=story.days[2].members,
        unsubscribed=unsubscribed,
        leftover_members=moved_away | left,
        leftover_customers=left,
    )
    story.events = set(support.rows(book.store, "SELECT an8, target, event FROM mapping_events"))
    story.state = pd.DataFrame(
        support.rows(book.store, "SELECT target, an8, target_key, email, an8s FROM synced_state"),
        columns=["target", "an8", "target_key", "email", "an8s"],
    )
    return story


def outcome(day: Day, an8: int, target: str) -> tuple[str, str]:
    rows = day.outcomes.loc[(day.outcomes["an8"] == an8) & (day.outcomes["target"] == target)]
    assert len(rows) == 1, (an8, target, rows)
    return rows["outcome"].iloc[0], rows["reason"].iloc[0]

"""The demo address book: shape, determinism, every hard case of real life, and the daily churn.

Each hard case is checked by inspecting the generated rows the way the mapping would read them
(IDLN 0 only, ETP "E", trimmed values), so a generator change that silently drops a case fails here.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from datetime import date

import pytest
from email_validator import EmailNotValidError, validate_email

from jde_mc_pipeline.emulators.ais.demo import generate_demo
from jde_mc_pipeline.emulators.ais.demo_churn import churn_changes
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.jde.tables import TABLES

TODAY = date(2026, 11, 27)
TODAY_JULIAN = to_julian(TODAY)
KIND_TYPES = {"string": str, "number": int, "date": int, "time": int}


@pytest.fixture(scope="module", params=[(300, 1), (300, 2), (200, 7)], ids=lambda p: f"n{p[0]}-seed{p[1]}")
def demo(request):
    n, seed = request.param
    return generate_demo(n, seed, TODAY)


@pytest.fixture(scope="module")
def demo300():
    return generate_demo(300, 11, TODAY)


def valid(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def text(value: str) -> str:
    return value.strip()


def in_scope(rows) -> set[int]:
    customers = {r["AIAN8"] for r in rows["F03012"]}
    return {r["ABAN8"] for r in rows["F0101"] if text(r["ABAT1"]) in ("C", "V") or r["ABAN8"] in customers}


def by_an8(rows, table: str, idln0: bool = False) -> dict[int, list[dict]]:
    prefix = TABLES[table].prefix
    grouped: dict[int, list[dict]] = defaultdict(list)
    for row in rows[table]:
        if not idln0 or row[prefix + "IDLN"] == 0:
            grouped[row[prefix + "AN8"]].append(row)
    return grouped


def emails(rows) -> dict[int, list[str]]:
    """IDLN-0 e-mail rows (ETP E) per AN8, in RCK7 order, as stored (untrimmed)."""
    found: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for row in rows["F01151"]:
        if row["EAIDLN"] == 0 and text(row["EAETP"]) == "E":
            found[row["EAAN8"]].append((row["EARCK7"], row["EAEMAL"]))
    return {an8: [address for _, address in sorted(lines)] for an8, lines in found.items()}


# -- shape ---------------------------------------------------------------------------------------------


def test_same_seed_same_rows_and_other_seed_other_rows():
    first, again = generate_demo(250, 5, TODAY), generate_demo(250, 5, TODAY)
    assert first == again
    other = generate_demo(250, 6, TODAY)
    assert other["F0101"] != first["F0101"]
    assert [r["ABALPH"] for r in other["F0101"]] != [r["ABALPH"] for r in first["F0101"]]


@pytest.mark.parametrize("n", [0, 1, 7, 199])
@pytest.mark.parametrize("today", [TODAY, date(2010, 1, 1), date(2024, 2, 29)])
def test_small_books_and_other_days(n, today):
    rows = generate_demo(n, 3, today)
    assert len(rows["F0101"]) == n
    assert all(r["ABUPMJ"] <= to_julian(today) for r in rows["F0101"])


def test_n_parties_and_all_six_tables(demo):
    assert set(demo) == set(TABLES)
    an8s = [r["ABAN8"] for r in demo["F0101"]]
    assert len(an8s) in (200, 300)
    for name in TABLES:
        column = TABLES[name].db_name("AN8")
        assert {r[column] for r in demo[name]} <= set(an8s), name


def generated(table):
    """The columns the demo fills: every catalogue column but the on-demand category codes (blank)."""
    return [table.column(alias) for alias in table.read_aliases()]


def test_every_catalogue_column_with_its_python_type(demo):
    for name, table in TABLES.items():
        expected = {table.db_name(c.alias): KIND_TYPES[c.kind] for c in generated(table)}
        for row in demo[name]:
            assert set(row) == set(expected), name
            for column, kind in expected.items():
                assert type(row[column]) is kind, (name, column, row[column])


def test_primary_keys_unique_and_rows_in_key_order(demo):
    for name, table in TABLES.items():
        keys = [tuple(row[table.db_name(alias)] for alias in table.key) for row in demo[name]]
        assert len(keys) == len(set(keys)), name
        assert keys == sorted(keys), name


def test_strings_fit_column_lengths_in_characters(demo):
    for name, table in TABLES.items():
        for column in (c for c in generated(table) if c.kind == "string"):
            db = table.db_name(column.alias)
            assert max(len(row[db]) for row in demo[name]) <= column.length, (name, db)


def test_dates_julian_and_times_hhmmss(demo):
    for name, table in TABLES.items():
        for column in generated(table):
            db = table.db_name(column.alias)
            for row in demo[name]:
                value = row[db]
                if column.kind == "date" and value:
                    assert 109001 <= value <= TODAY_JULIAN + 1000 and 1 <= value % 1000 <= 366, (db, value)
                if column.kind == "time":
                    assert 0 <= value <= 235959 and value // 100 % 100 < 60 and value % 100 < 60, (db, value)


def test_padding_share_and_business_units_with_leading_blanks(demo):
    alph = [r["ABALPH"] for r in demo["F0101"]]
    padded = sum(len(a) == 40 and a != a.rstrip() for a in alph)
    assert 0.1 * len(alph) < padded < 0.6 * len(alph)
    assert all(r["ABMCU"].startswith(" ") and r["ABMCU"].strip() for r in demo["F0101"])


def test_customers_have_the_default_company_00000(demo):
    for an8, rows in by_an8(demo, "F03012").items():
        assert "00000" in {r["AICO"] for r in rows}, an8


# -- hard cases ----------------------------------------------------------------------------------------


def test_parties_without_email(demo):
    assert in_scope(demo) - set(emails(demo))


def test_invalid_email_and_messy_email(demo):
    scope = in_scope(demo)
    lines = emails(demo)
    only_invalid = [an8 for an8 in scope & set(lines) if not any(valid(text(a)) for a in lines[an8])]
    assert only_invalid
    messy = [a for a in demo["F01151"] if a["EAEMAL"].startswith(" ") and a["EAEMAL"].strip() != a["EAEMAL"]]
    assert any(text(a["EAEMAL"]) != text(a["EAEMAL"]).lower() and valid(text(a["EAEMAL"])) for a in messy)


def test_two_email_rows_first_invalid_second_valid(demo):
    pairs = [lines for lines in emails(demo).values() if len(lines) >= 2]
    assert any(not valid(text(first)) and valid(text(second)) for first, second, *_ in pairs)


def test_one_email_shared_by_two_parties(demo):
    owners: dict[str, set[int]] = defaultdict(set)
    scope = in_scope(demo)
    for an8, lines in emails(demo).items():
        if an8 in scope:
            owners[text(lines[0]).lower()].add(an8)
    assert any(len(an8s) >= 2 and valid(address) for address, an8s in owners.items())


def test_other_electronic_address_types(demo):
    assert {text(r["EAETP"]) for r in demo["F01151"]} - {"E"}


def test_customer_and_vendor_at_once_and_out_of_scope_roles(demo):
    customers = set(by_an8(demo, "F03012"))
    at1 = {r["ABAN8"]: text(r["ABAT1"]) for r in demo["F0101"]}
    assert any(at1[an8] == "V" for an8 in customers)
    assert any(code == "C" and an8 not in customers for an8, code in at1.items())
    for role in ("E", "O"):
        out_of_scope = [an8 for an8, code in at1.items() if code == role]
        assert out_of_scope and not customers & set(out_of_scope), role


def test_future_dated_historical_and_blank_effective_dates(demo):
    addresses = by_an8(demo, "F0116")
    assert any(any(r["ALEFTB"] > TODAY_JULIAN for r in rows) for rows in addresses.values())
    past = [[r for r in rows if 0 < r["ALEFTB"] <= TODAY_JULIAN] for rows in addresses.values()]
    assert any(len(rows) >= 2 for rows in past)
    assert any(len(rows) == 1 and rows[0]["ALEFTB"] == 0 for rows in addresses.values())
    assert in_scope(demo) - set(addresses)  # a party with no address at all


def test_incomplete_foreign_and_countryless_addresses(demo):
    rows = demo["F0116"]
    us = [r for r in rows if text(r["ALCTR"]) == "US"]
    assert any(not text(r["ALADDS"]) for r in us)
    assert any(not text(r["ALADDZ"]) for r in rows)
    assert {"CA", "GB", "DE", "MX", ""} <= {text(r["ALCTR"]) for r in rows}


def test_non_ascii_and_forty_character_names(demo):
    names = [text(r["ABALPH"]) for r in demo["F0101"]]
    assert {"Müller Maschinenbau GmbH", "Société Générale de Distribution Inc.", "東京商事株式会社"} <= set(
        names
    )
    assert any(len(name) == 40 for name in names)


def test_party_without_whos_who_line_zero_and_contacts_beyond_it(demo):
    assert in_scope(demo) - set(by_an8(demo, "F0111", idln0=True))
    for name, prefix in (("F0111", "WW"), ("F01151", "EA"), ("F0115", "WP")):
        assert any(r[prefix + "IDLN"] > 0 for r in demo[name]), name
    contact_only = set(by_an8(demo, "F01151")) - set(by_an8(demo, "F01151", idln0=True))
    assert contact_only & in_scope(demo)  # e-mail only on a contact: still "no e-mail" for the mapping


def test_phone_types(demo):
    phones = by_an8(demo, "F0115", idln0=True)
    types = [[text(r["WPPHTP"]) for r in rows] for rows in phones.values()]
    assert any(t == ["FAX"] for t in types)
    assert any(t[:2] == ["FAX", ""] for t in types)  # fax on the lowest line, business after it
    assert {"", "FAX", "HOM"} <= {phone_type for t in types for phone_type in t}
    assert in_scope(demo) - set(phones)


def test_child_table_changes_on_a_later_day_than_the_parent(demo):
    parent = {r["ABAN8"]: r["ABUPMJ"] for r in demo["F0101"]}
    later = set()
    for name, table in TABLES.items():
        if name != "F0101":
            p = table.prefix
            later |= {r[p + "AN8"] for r in demo[name] if r[p + "UPMJ"] > parent[r[p + "AN8"]]}
    assert len(later & in_scope(demo)) >= 2


def test_same_party_saved_table_by_table_seconds_apart(demo):
    stamps: dict[tuple[int, int], set[int]] = defaultdict(set)  # (AN8, UPMJ) -> UPMT over all tables
    for table in TABLES.values():
        p = table.prefix
        for r in demo[table.name]:
            stamps[(r[p + "AN8"], r[p + "UPMJ"])].add(r[p + "UPMT"])
    assert sum(len(times) >= 3 for times in stamps.values()) >= len(demo["F0101"]) // 2


def test_update_dates_spread_from_2009_to_today(demo):
    stamps = [
        (r[t.prefix + "UPMJ"], r[t.prefix + "UPMT"], r[t.prefix + "AN8"])
        for t in TABLES.values()
        for r in demo[t.name]
    ]
    days = {day for day, _, _ in stamps}
    assert min(days) // 1000 == 109
    assert max(days) == TODAY_JULIAN
    assert len({day // 1000 for day in days}) >= 12
    assert len({day for day in days if TODAY_JULIAN - 7 <= day < TODAY_JULIAN}) >= 2
    today = [(time, an8) for day, time, an8 in stamps if day == TODAY_JULIAN]
    assert len({an8 for _, an8 in today}) >= 2 and len({time for time, _ in today}) >= 2


def test_rates_stay_proportional_for_larger_books():
    rows = generate_demo(5000, 3, TODAY)
    scope = in_scope(rows)
    lines = emails(rows)
    no_email = len(scope - set(lines)) / len(scope)
    assert 0.03 <= no_email <= 0.08  # 4% none + 0.5% contact-only + 0.5% URL-only, by design
    invalid_first = sum(1 for a in scope & set(lines) if not valid(text(lines[a][0]))) / len(scope)
    assert 0.015 <= invalid_first <= 0.04
    at1 = [text(r["ABAT1"]) for r in rows["F0101"]]
    assert 0.06 <= at1.count("E") / len(at1) <= 0.10


# -- churn ---------------------------------------------------------------------------------------------


def keys_of(rows) -> dict[str, set[tuple]]:
    return {
        name: {tuple(r[table.db_name(a)] for a in table.key) for r in rows[name]}
        for name, table in TABLES.items()
    }


def test_churn_is_deterministic_and_leaves_the_input_alone(demo300):
    before = copy.deepcopy(demo300)
    first = churn_changes(random.Random(42), demo300, 40, TODAY)
    again = churn_changes(random.Random(42), demo300, 40, TODAY)
    assert first == again
    assert demo300 == before
    assert churn_changes(random.Random(43), demo300, 40, TODAY) != first


def test_churn_rows_are_full_rows_for_in_scope_or_new_parties(demo300):
    changes = churn_changes(random.Random(1), demo300, 60, TODAY)
    existing = {r["ABAN8"] for r in demo300["F0101"]}
    scope, newest = in_scope(demo300), max(existing)
    changed = set()
    for name, table in TABLES.items():
        stamp = {table.db_name("UPMJ"), table.db_name("UPMT")}
        expected = {table.db_name(c.alias): KIND_TYPES[c.kind] for c in generated(table)}
        for row in changes[name]:
            assert set(row) == set(expected) - stamp, name
            for column, kind in expected.items():
                if column not in stamp:
                    assert type(row[column]) is kind, (name, column)
                    if kind is str:
                        assert len(row[column]) <= table.column(column[2:]).length, (name, column)
            an8 = row[table.db_name("AN8")]
            assert an8 in scope or an8 > newest, (name, an8)
            changed.add(an8)
        keys = [tuple(r[table.db_name(a)] for a in table.key) for r in changes[name]]
        assert len(keys) == len(set(keys)), name
    assert 1 <= len(changed) <= 60


def test_churn_changes_what_users_change(demo300):
    changes = churn_changes(random.Random(2), demo300, 80, TODAY)
    old_keys, existing = keys_of(demo300), {r["ABAN8"] for r in demo300["F0101"]}
    new_parties = {r["ABAN8"] for r in changes["F0101"]} - existing
    assert new_parties
    for an8 in new_parties:
        tables = {
            name for name in TABLES if any(r[TABLES[name].db_name("AN8")] == an8 for r in changes[name])
        }
        assert {"F0101", "F0116", "F0111"} <= tables
    moved = [r for r in changes["F0116"] if r["ALAN8"] in existing]
    assert any(r["ALEFTB"] == TODAY_JULIAN for r in moved)
    assert all(r["ALEFTB"] == TODAY_JULIAN or (r["ALAN8"], r["ALEFTB"]) in old_keys["F0116"] for r in moved)
    old_names = {r["ABAN8"]: text(r["ABALPH"]) for r in demo300["F0101"]}
    assert any(text(r["ABALPH"]) != old_names[r["ABAN8"]] for r in changes["F0101"] if r["ABAN8"] in existing)
    old_mail = {(r["EAAN8"], r["EAIDLN"], r["EARCK7"]): text(r["EAEMAL"]) for r in demo300["F01151"]}
    mail = [r for r in changes["F01151"] if r["EAAN8"] in existing]
    assert any(old_mail.get((r["EAAN8"], r["EAIDLN"], r["EARCK7"])) != text(r["EAEMAL"]) for r in mail)
    assert all(r["EAIDLN"] == 0 and text(r["EAETP"]) == "E" for r in mail)
    assert [r for r in changes["F0115"] if (r["WPAN8"], 0, r["WPRCK7"]) not in old_keys["F0115"]]


def test_churn_of_nothing_and_on_an_empty_book():
    assert churn_changes(random.Random(0), generate_demo(10, 1, TODAY), 0, TODAY) == {
        name: [] for name in TABLES
    }
    empty = {name: [] for name in TABLES}
    created = churn_changes(random.Random(0), empty, 3, TODAY)
    assert len(created["F0101"]) == 3 and [r["ABAN8"] for r in created["F0101"]] == [1001, 1002, 1003]

"""What JDE users change during a day, for the emulator's `--churn K/S`.

`churn_changes(rng, rows, count, today)` picks `count` in-scope parties (customers and vendors) from
the current table contents and returns the rows to upsert: a changed or fixed e-mail, a new or changed
phone, a move (a new F0116 row effective today, or the current row corrected in place), a renamed
party, a category code reassigned (region, customer class or industry), a customer master change (a
vendor that becomes a customer gets its F03012 row), and sometimes
a brand-new party with rows in several tables. Rows are full rows with database column names and the
primary key, except UPMJ and UPMT: the server stamps those with its clock, as JDE does, and a missing
stamp fails loudly instead of passing a made-up time. The input is never mutated.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from jde_mc_pipeline.emulators.ais import demo_pools as pools
from jde_mc_pipeline.emulators.ais.demo_party import (
    PROGRAMS,
    FastRandom,
    Party,
    PartyWriter,
    Row,
    Stamp,
    compress,
    fit,
    pad_row,
)
from jde_mc_pipeline.emulators.ais.demo_plan import plan_party
from jde_mc_pipeline.emulators.ais.demo_rows import broken_email, write_party
from jde_mc_pipeline.emulators.ais.demo_udc import INDUSTRIES
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.jde.tables import TABLES

IN_SCOPE_TYPES = ("C", "V")
CHANGE_KINDS = ("email", "phone", "address", "rename", "customer", "new_party", "category")
CHANGE_WEIGHTS = (30, 20, 20, 10, 5, 15, 8)
NORMAL_CASES = {"email": "normal", "address": "normal", "name": "normal", "phone": "normal", "time": "normal"}
_AUDIT = ("UPMJ", "UPMT")


def churn_changes(
    rng: random.Random, rows: dict[str, list[dict[str, Any]]], count: int, today: date
) -> dict[str, list[dict[str, Any]]]:
    """Rows to upsert for `count` changed parties, keyed by table; deterministic for the rng state."""
    out: dict[str, list[Row]] = {name: [] for name in TABLES}
    if count <= 0:
        return out
    customers = {row["AIAN8"] for row in rows.get("F03012", ())}
    candidates = sorted(
        row["ABAN8"]
        for row in rows.get("F0101", ())
        if row["ABAT1"].strip() in IN_SCOPE_TYPES or row["ABAN8"] in customers
    )
    kinds = rng.choices(CHANGE_KINDS, CHANGE_WEIGHTS, k=count)
    picks = rng.sample(candidates, min(sum(kind != "new_party" for kind in kinds), len(candidates)))
    by_party = _rows_of(rows, set(picks))
    used = {_text(row["EAEMAL"]).lower() for row in rows.get("F01151", ())}
    used |= {address.rpartition("@")[2] for address in used}
    julian = [to_julian(today + timedelta(days=day)) for day in range(2)]
    writer = PartyWriter(FastRandom(rng.getrandbits(64)), julian, 0, used)
    next_an8 = max((row["ABAN8"] for row in rows.get("F0101", ())), default=1000) + 1
    pick_iter = iter(picks)
    for kind in kinds:
        an8 = next(pick_iter, None) if kind != "new_party" else None
        if an8 is None:
            _new_party(writer, next_an8, out)
            next_an8 += 1
            continue
        party = by_party[an8]
        change = {
            "email": _email,
            "phone": _phone,
            "address": _address,
            "rename": _rename,
            "category": _category,
        }.get(kind, _customer)
        for table, row in change(writer, an8, party):
            out[table].append(_finish(writer, table, row))
    return out


def _rows_of(rows: dict[str, list[Row]], an8s: set[int]) -> dict[int, dict[str, list[Row]]]:
    """The current rows of the chosen parties, by AN8 and table, in one pass per table."""
    found: dict[int, dict[str, list[Row]]] = {an8: defaultdict(list) for an8 in an8s}
    for name, table in TABLES.items():
        column = table.db_name("AN8")
        for row in rows.get(name, ()):
            if row[column] in an8s:
                found[row[column]][name].append(row)
    return found


def _text(value: Any) -> str:
    return str(value).strip()


def _finish(writer: PartyWriter, table: str, row: Row) -> Row:
    """Drop the stamp columns (the server sets them), set who changed it, keep the padding style."""
    prefix = TABLES[table].prefix
    padded = str(row.get(prefix + "PID", "")).endswith(" ")  # program ids are shorter than 10
    row = {column: value for column, value in row.items() if column[2:] not in _AUDIT}
    user, jobn = writer.rng.choice(pools.USERS[:-1]), writer.rng.choice(pools.WORKSTATIONS)
    row |= {prefix + "USER": user, prefix + "PID": PROGRAMS[table], prefix + "JOBN": jobn}
    return pad_row(table, row) if padded else row


def _blank(table: str, an8: int) -> Row:
    """A row of the table with every column blank (0 for numbers) and the AN8 set; the on-demand category
    codes are left to the store's default, as in the generated rows (demo_party.py)."""
    t = TABLES[table]
    row: Row = {t.db_name(a): "" if t.column(a).kind == "string" else 0 for a in t.read_aliases()}
    row[t.db_name("AN8")] = an8
    return row


def _names(rng: random.Random, party: dict[str, list[Row]]) -> tuple[str, str]:
    """Given name and surname from the F0111 line 0; a new contact person when JDE has none."""
    for row in party["F0111"]:
        if row["WWIDLN"] == 0 and _text(row["WWGNNM"]) and _text(row["WWSRNM"]):
            return _text(row["WWGNNM"]), _text(row["WWSRNM"])
    return rng.choice(pools.FIRST_NAMES), rng.choice(pools.LAST_NAMES)


def _email(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A changed primary e-mail (now and then mistyped), or a first one for a party that had none."""
    rng = writer.rng
    lines = sorted((r for r in party["F01151"] if r["EAIDLN"] == 0), key=lambda r: r["EARCK7"])
    emails = [r for r in lines if _text(r["EAETP"]) == "E"]
    current = _text(emails[0]["EAEMAL"]) if emails else ""
    domain = current.rpartition("@")[2].lower()
    if "." not in domain or domain in pools.FREEMAIL or " " in domain:
        domain = ""
    stub = Party(an8, "C", (), not domain, "", "", "", "", domain, "US", Stamp("", "", 0, 0))
    first, last = _names(rng, party)
    local, new_domain = writer.mailbox(stub, first, last)
    address = f"{local}@{new_domain}" if rng.random() < 0.9 else broken_email(writer, local, new_domain)
    if emails:
        row = dict(emails[0])
    else:
        row = _blank("F01151", an8) | {"EARCK7": max((r["EARCK7"] for r in lines), default=0) + 1}
        row |= {"EAETP": "E", "EAEHIER": 1}
    row["EAEMAL"] = fit(address, 256)
    return [("F01151", row)]


def _phone(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A new phone line (business, mobile, fax or home), or a changed number on the first line."""
    rng = writer.rng
    lines = sorted((r for r in party["F0115"] if r["WPIDLN"] == 0), key=lambda r: r["WPRCK7"])
    country = next((_text(r["ALCTR"]) for r in party["F0116"]), "US")
    area = _text(lines[0]["WPAR1"]) if lines else rng.choice(pools.US_PLACES)[4]
    ar1, ph1 = writer.phone_number(country, area)
    if lines and rng.random() < 0.4:
        return [("F0115", dict(lines[0]) | {"WPAR1": ar1, "WPPH1": ph1})]
    rck7 = max((r["WPRCK7"] for r in lines), default=0) + 1
    phtp = rng.choice(("", "", "CAR", "FAX", "HOM"))
    row = _blank("F0115", an8) | {"WPRCK7": rck7, "WPCNLN": rck7, "WPPHTP": phtp, "WPAR1": ar1, "WPPH1": ph1}
    return [("F0115", row)]


def _address(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A move effective today (new F0116 row), or the current address corrected in place."""
    today = writer.julian[0]
    current_rows = sorted((r for r in party["F0116"] if r["ALEFTB"] <= today), key=lambda r: r["ALEFTB"])
    current = current_rows[-1] if current_rows else None
    country = _text(current["ALCTR"]) if current else "US"
    if country in pools.FOREIGN_PLACES:
        add1, add2, city, county, state, zipcode, _ = writer.foreign_address(country)
    else:
        add1, add2, city, county, state, zipcode, _ = writer.us_address()
    if current is not None and (current["ALEFTB"] == today or writer.rng.random() < 0.5):
        row = dict(current)
    else:
        row = _blank("F0116", an8) | {"ALEFTB": today, "ALCTR": country}
    row |= {"ALADD1": fit(add1, 40), "ALADD2": add2, "ALCTY1": fit(city, 25), "ALCOUN": county}
    row |= {"ALADDS": state, "ALADDZ": zipcode}
    return [("F0116", row)]


def _rename(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A new legal name (companies) or surname (people), in F0101 and on the F0111 line 0."""
    rng = writer.rng
    master = party["F0101"][0]
    old = _text(master["ABALPH"])
    if _text(master["ABTAXC"]) == "P" and ", " in old:
        surname, given = rng.choice(pools.LAST_NAMES), old.split(", ", 1)[1]
        new = fit(f"{surname}, {given}", 40)
    else:
        base = old.split(",")[0].removesuffix(" Inc").removesuffix(" Inc.").removesuffix(" LLC")
        new, surname = fit(f"{base} {rng.choice(('Holdings LLC', 'Group Inc', 'Solutions', 'Intl'))}", 40), ""
    changes = [("F0101", dict(master) | {"ABALPH": new, "ABDC": compress(new)})]
    for row in party["F0111"]:
        if row["WWIDLN"] == 0:
            renamed = dict(row) | {"WWALPH": new}
            if surname:
                renamed |= {
                    "WWSRNM": fit(surname, 25),
                    "WWMLNM": fit(f"{_text(row['WWGNNM'])} {surname}", 40),
                }
            elif _text(row["WWMLNM"]) == old:
                renamed["WWMLNM"] = new
            changes.append(("F0111", renamed))
    return changes


def _category(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A category code reassigned: the sales region (AC01), the customer class (AC02) or the industry
    (AC03) of the address book row, to another code of its list (now and then one with no UDC row)."""
    rng = writer.rng
    master = party["F0101"][0]
    column, codes = rng.choice((("ABAC01", pools.REGION_CODES), ("ABAC02", pools.CUSTOMER_CLASSES),
                                ("ABAC03", INDUSTRIES)))  # fmt: skip
    current = _text(master[column])
    choices = [code for code in codes if code and code != current]
    return [("F0101", dict(master) | {column: rng.choice(choices)})]


def _customer(writer: PartyWriter, an8: int, party: dict[str, list[Row]]) -> list[tuple[str, Row]]:
    """A credit hold set or lifted; a party without a customer master gets one (it now buys from us)."""
    rows = party["F03012"]
    if not rows:
        row = _blank("F03012", an8) | {"AICO": "00000", "AICRCD": "USD", "AITRAR": "N30"}
        return [("F03012", row | {"AIMCUR": "1".rjust(12)})]
    row = dict(rows[0])
    row["AIHOLD"] = "" if _text(row["AIHOLD"]) else "C1"
    return [("F03012", row)]


def _new_party(writer: PartyWriter, an8: int, out: dict[str, list[Row]]) -> None:
    """A brand-new customer (sometimes a vendor) entered today with rows in several tables."""
    role = "C" if writer.rng.random() < 0.8 else "V"
    party = plan_party(writer, an8, role, NORMAL_CASES)
    party.created = Stamp(party.created.user, party.created.jobn, 0, party.created.seconds)
    party.later.clear()
    new: dict[str, list[Row]] = {name: [] for name in TABLES}
    write_party(writer, party, new)
    for table, table_rows in new.items():
        out[table] += [
            {column: value for column, value in row.items() if column[2:] not in _AUDIT} for row in table_rows
        ]

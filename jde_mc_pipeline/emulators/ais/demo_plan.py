"""The plan of one demo party: who it is (role, name, country), when it was entered and changed.

Shared by the bulk generator and the churn. The cases (which e-mail, address, name, phone and timing
trouble the party carries) are decided by the caller; this module fills in everything else.
"""

from __future__ import annotations

from jde_mc_pipeline.emulators.ais import demo_pools as pools
from jde_mc_pipeline.emulators.ais.demo_party import Party, PartyWriter, Stamp, fit

CHILD_TABLES = ("F0116", "F0111", "F01151", "F0115")
PADDED_SHARE = 0.3
CONVERSION_SHARE = 0.08
OWN_DOMAIN = "bluepeakmfg.com"  # the demo company's own domain, for its employees


def plan_party(writer: PartyWriter, an8: int, role: str, case: dict[str, str]) -> Party:
    """Decide who this AN8 is: role, name, country, creation stamp and the cases it carries."""
    rng = writer.rng
    at1 = {"both": "V", "C_no_master": "C"}.get(role, role)
    companies: tuple[str, ...] = ()
    if role in ("C", "both"):
        companies = ("00000",) if rng.random() < 0.95 else ("00000", rng.choice(("00100", "00200")))
    person = role == "E" or (role in ("C", "C_no_master") and rng.random() < 0.25) or rng.random() < 0.03
    person = person and role != "O"
    country = {"blank_country": ""}.get(case["address"], case["address"])
    country = country if country in pools.FOREIGN_PLACES or country == "" else "US"
    first, middle, last = rng.choice(pools.FIRST_NAMES), "", rng.choice(pools.LAST_NAMES)
    domain = ""
    if case["name"] == "non_ascii":
        entry = pools.NON_ASCII_NAMES[writer.non_ascii_count % len(pools.NON_ASCII_NAMES)]
        writer.non_ascii_count += 1  # in turn, so that the first three (Latin-1 to CJK) always occur
        alph, entry_domain, country, first, last = entry
        person = not entry_domain
        if entry_domain and entry_domain not in writer.used:
            writer.used.add(entry_domain)
            domain = entry_domain
        elif entry_domain:
            domain = writer.company_domain(last + " " + alph.split()[0])
    elif case["name"] == "forty":
        person = False
        alph = _forty_char_name(writer)
    elif person:
        middle = rng.choice(pools.MIDDLE_INITIALS) if rng.random() < 0.3 else ""
        alph = f"{last}, {first}"
    else:
        suffix = pools.FOREIGN_SUFFIXES.get(country) or rng.choice(pools.COMPANY_SUFFIXES)
        trade = rng.choice(pools.COMPANY_TRADES)
        alph = fit(f"{rng.choice(pools.COMPANY_STEMS)} {trade}{'' if suffix[:1] in ',' else ' '}{suffix}", 40)
    if role == "E":
        domain = OWN_DOMAIN
    elif not person and not domain:
        domain = writer.company_domain(alph)
    party = Party(
        an8, at1, companies, person, alph, first, middle, last, domain, country, _created(writer, case)
    )
    party.padded = rng.random() < PADDED_SHARE
    party.email_case, party.address_case = case["email"], case["address"]
    party.name_case, party.phone_case = case["name"], case["phone"]
    if not person and role not in ("E", "O"):
        party.contacts = rng.randrange(1, 4) if case["email"] == "contact_only" or rng.random() < 0.15 else 0
    _plan_changes(writer, party, case["time"])
    return party


def _forty_char_name(writer: PartyWriter) -> str:
    """A company name of exactly 40 characters: a fixed one, or a long name cut mid-word at 40."""
    rng = writer.rng
    if rng.random() < 0.5:
        return rng.choice(pools.FORTY_CHAR_NAMES)[0]
    while True:
        words = [
            rng.choice(pools.COMPANY_STEMS),
            rng.choice(pools.COMPANY_STEMS),
            rng.choice(pools.COMPANY_TRADES),
        ]
        name = f"{' '.join(words)} Corporation of America"[:40]
        if name[-1] != " " and len(name) == 40:
            return name


def _created(writer: PartyWriter, case: dict[str, str]) -> Stamp:
    """When and by whom the party was entered: a 2009 conversion, or interactively since."""
    rng, days = writer.rng, writer.today
    if case["time"] == "y2009":
        day = rng.randrange(min(365, days))
    elif rng.random() < CONVERSION_SHARE:
        return Stamp("CNVUSER", "JDEENT01", rng.randrange(3), 3600 + rng.randrange(5 * 3600), "R0101Z1I")
    else:
        day = int(days * rng.random() ** 0.8)
    if (
        case["time"] in ("today", "recent", "child_later") or "history" in case["address"]
    ) and day > days - 30:
        day = rng.randrange(max(days - 400, 0), days - 30) if days > 30 else 0
    return Stamp(
        rng.choice(pools.USERS[:-1]), rng.choice(pools.WORKSTATIONS), day, 25200 + rng.randrange(39600)
    )


def _plan_changes(writer: PartyWriter, party: Party, time_case: str) -> None:
    """Later changes: F0101 revisions, child-only changes, and changes in the last days or today."""
    rng, days, created = writer.rng, writer.today, party.created
    tables = CHILD_TABLES + (("F03012",) if party.companies else ())

    def stamp(day: int, seconds: int, pid: str = "") -> Stamp:
        return Stamp(rng.choice(pools.USERS[:-1]), rng.choice(pools.WORKSTATIONS), day, seconds, pid)

    business_hours = 25200 + rng.randrange(39600)
    if time_case == "normal" and created.day < days - 1 and rng.random() < 0.35:
        party.later["F0101"] = stamp(created.day + 1 + rng.randrange(days - created.day - 1), business_hours)
    elif time_case == "child_later":
        party.later[rng.choice(tables)] = stamp(
            created.day + 1 + rng.randrange(days - created.day), business_hours
        )
    elif time_case == "recent":
        party.later[rng.choice(("F0101", *tables))] = stamp(days - 1 - rng.randrange(7), business_hours)
    elif time_case == "today":
        pid = rng.choice(pools.BATCH_PROGRAMS)
        party.later[rng.choice(("F0101", *tables))] = stamp(days, 1800 + rng.randrange(5 * 3600), pid)

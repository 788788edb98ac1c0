"""The six tables' rows for one planned party (see `demo_party.Party`).

Each `*_rows` function appends to the output lists, so the bulk generator can fill 600,000 rows
without building intermediate structures. The hard cases (invalid or messy e-mails, FAX-only phones,
future-dated addresses, missing who's-who line 0, ...) are decided by the plan and written here.
"""

from __future__ import annotations

from jde_mc_pipeline.emulators.ais import demo_pools as pools
from jde_mc_pipeline.emulators.ais.demo_party import (
    EMAIL_TYPE,
    URL_TYPE,
    Party,
    PartyWriter,
    Row,
    Stamp,
    business_unit,
    compress,
    fit,
    pad_row,
)
from jde_mc_pipeline.emulators.ais.demo_udc import INDUSTRIES, PRICE_GROUPS, spread

Out = dict[str, list[Row]]
_LANGUAGES = {"DE": "G", "MX": "S", "JP": "J", "CH": "G"}  # UDC 01/LP; blank = English


def broken_email(writer: PartyWriter, local: str, domain: str) -> str:
    """A syntactically invalid address of the kinds found in real address books."""
    forms = (
        f"{local}@",
        f"{local} at {domain}",
        f"{local}@{domain.split('.')[0]}",
        f"{local}@@{domain}",
        f"{local}@{domain}, orders@{domain}",
        f"{local}.@{domain}",
        f"{local}@{domain.replace('.', ',', 1)}",
    )
    return writer.rng.choice(forms)


def messy_email(local: str, domain: str) -> str:
    """Valid once trimmed and lower-cased, but typed with capitals and surrounding blanks."""
    name, _, tld = domain.rpartition(".")
    return f" {local.title()}@{name.title()}.{tld.upper()} "


def write_party(writer: PartyWriter, party: Party, out: Out) -> Row | None:
    """Append all rows of one party to `out`; return its primary F01151 row (for shared e-mails)."""
    rows: list[tuple[str, Row]] = []
    area = address_rows(writer, party, rows)
    rows.append(("F0101", master_row(writer, party)))
    for company in party.companies:
        rows.append(("F03012", customer_row(writer, party, company)))
    contact_rows: list[tuple[str, Row]] = []
    who_rows(writer, party, area, rows, contact_rows)
    primary = email_rows(writer, party, rows)
    phone_rows(writer, party, area, rows)
    rows += contact_rows  # after line 0, so that every table stays in primary-key order
    for table, row in rows:
        out[table].append(pad_row(table, row) if party.padded else row)
    return primary


def master_row(writer: PartyWriter, party: Party) -> Row:
    """F0101: the address book master row."""
    rng = writer.rng
    converted = party.created.user == "CNVUSER"
    row = {
        "ABAN8": party.an8,
        "ABALKY": f"L{party.an8 * 7 % 1000000:06d}" if converted else "",
        "ABTAX": f"{rng.randrange(10, 99)}-{rng.randrange(10**7):07d}" if not party.person else "",
        "ABALPH": party.alph,
        "ABDC": compress(party.alph),
        "ABMCU": business_unit(rng.choice(pools.BUSINESS_UNITS)),
        "ABSIC": rng.choice(pools.INDUSTRY_CODES) if not party.person else "",
        "ABLNGP": _LANGUAGES.get(party.country, ""),
        "ABAT1": party.at1,
        "ABCM": "" if rng.random() < 0.94 else rng.choice(("1", "2", "B")),
        "ABTAXC": "P" if party.person else "C",
        "ABAN81": party.parent or party.an8,
        "ABAC01": rng.choice(pools.REGION_CODES),
        "ABAC02": rng.choice(pools.CUSTOMER_CLASSES),
        "ABAC03": spread(party.an8, INDUSTRIES, 3) if not party.person else "",
        "ABAC04": "",
        "ABAC05": "",
        "ABRMK": "" if rng.random() < 0.9 else "Converted from legacy AR" if converted else "See credit file",
        "ABALP1": "",
        "ABEFTB": writer.julian[party.created.day],
    }
    writer.stamp_party_row(row, "F0101", party)
    return row


def customer_row(writer: PartyWriter, party: Party, company: str) -> Row:
    """F03012: the customer master for one company (00000 = the default line of business)."""
    rng = writer.rng
    row = {
        "AIAN8": party.an8,
        "AICO": company,
        "AIARC": rng.choice(pools.AR_CLASSES),
        "AIMCUR": business_unit(rng.choice(pools.BUSINESS_UNITS)),
        "AICRCD": pools.CURRENCY.get(party.country, pools.CURRENCY_OTHER),
        "AITXA1": rng.choice(pools.TAX_AREAS),
        "AITRAR": rng.choice(pools.PAYMENT_TERMS),
        "AIHOLD": "" if rng.random() < 0.96 else "C1",
        "AICUSTS": "" if rng.random() < 0.97 else "1",
        "AIAC01": rng.choice(pools.REGION_CODES),
        "AICPGP": spread(party.an8, PRICE_GROUPS, int(company)),
    }
    writer.stamp_party_row(row, "F03012", party, 240)
    return row


def address_rows(writer: PartyWriter, party: Party, rows: list[tuple[str, Row]]) -> str:
    """F0116 rows by the plan's address case; returns the phone area code of the place."""
    rng, case, country = writer.rng, party.address_case, party.country
    if country in ("US", ""):
        add1, add2, city, county, state, zipcode, area = writer.us_address()
    else:
        add1, add2, city, county, state, zipcode, area = writer.foreign_address(country)
    if case == "none":
        return area
    if case == "no_state":
        state = ""
    elif case == "no_zip":
        zipcode = ""
    current = writer.stamp(party, "F0116")
    created = party.created
    later = party.later.get("F0116")
    eftb = 0 if case == "eftb0" else writer.julian[created.day]
    if case in ("history", "history_future"):
        old = writer.us_address() if country in ("US", "") else writer.foreign_address(country)
        rows.append(("F0116", _address(writer, party, writer.julian[created.day], old, country, created)))
        move = created.day + 1 + rng.randrange(max(writer.today - created.day - 1, 1))
        current = later if later and later.day > move else Stamp(created.user, created.jobn, move, 43200)
        eftb = writer.julian[move]
    place = (add1, add2, city, county, state, zipcode, area)
    rows.append(("F0116", _address(writer, party, eftb, place, country, current)))
    if case in ("future", "history_future"):
        entered = max(writer.today - rng.randrange(1, 20), current.day)
        stamp = Stamp(created.user, created.jobn, entered, 36000 + rng.randrange(25000))
        future = writer.julian[writer.today + 1 + rng.randrange(90)]
        new_place = writer.us_address() if country in ("US", "") else writer.foreign_address(country)
        rows.append(("F0116", _address(writer, party, future, new_place, country, stamp)))
    return area


def _address(writer: PartyWriter, party: Party, eftb: int, place: tuple, country: str, stamp: Stamp) -> Row:
    add1, add2, city, county, state, zipcode, _ = place
    row = {
        "ALAN8": party.an8,
        "ALEFTB": eftb,
        "ALEFTF": "",
        "ALADD1": fit(add1, 40),
        "ALADD2": add2,
        "ALADD3": "",
        "ALADD4": "",
        "ALADDZ": zipcode,
        "ALCTY1": fit(city, 25),
        "ALCOUN": county,
        "ALADDS": state,
        "ALCRTE": f"C{writer.rng.randrange(1, 99):03d}" if country == "US" else "",
        "ALBKML": "",
        "ALCTR": country,
    }
    writer.stamp_row(row, "F0116", stamp)
    return row


def who_rows(
    writer: PartyWriter,
    party: Party,
    area: str,
    rows: list[tuple[str, Row]],
    contact_rows: list[tuple[str, Row]],
) -> None:
    """F0111: line 0 (the party itself) unless the plan leaves it out, then who's-who contacts.

    The contacts' own e-mail and phone rows (IDLN > 0) go to `contact_rows`: the mapping must ignore them.
    """
    rng = writer.rng
    if party.name_case != "no_ww0":
        if party.person:
            given, middle, surname = party.first, party.middle, party.last
            mailing = f"{party.first} {party.last}"
        elif rng.random() < 0.5:
            given, middle, surname, mailing = party.first, "", party.last, party.alph
        else:
            given, middle, surname, mailing = "", "", "", party.alph
        rows.append(("F0111", _who(writer, party, 0, mailing, "", given, middle, surname, "")))
    for idln in range(1, party.contacts + 1):
        first, last = rng.choice(pools.FIRST_NAMES), rng.choice(pools.LAST_NAMES)
        title = rng.choice(pools.CONTACT_TITLES)
        rows.append(("F0111", _who(writer, party, idln, f"{first} {last}", title, first, "", last, "C")))
        local, domain = writer.mailbox(party, first, last, role_ok=False)
        contact_rows.append(("F01151", _email(writer, party, idln, 1, EMAIL_TYPE, f"{local}@{domain}")))
        ar1, ph1 = writer.phone_number(party.country, area)
        contact_rows.append(("F0115", _phone(writer, party, idln, 1, "", ar1, ph1)))


def _who(
    writer: PartyWriter,
    party: Party,
    idln: int,
    mailing: str,
    title: str,
    given: str,
    middle: str,
    surname: str,
    tyc: str,
) -> Row:
    row = {
        "WWAN8": party.an8,
        "WWIDLN": idln,
        "WWDSS5": idln,
        "WWMLNM": fit(mailing, 40),
        "WWATTL": title,
        "WWALPH": party.alph if idln == 0 else fit(f"{surname}, {given}", 40),
        "WWGNNM": fit(given, 25),
        "WWMDNM": middle,
        "WWSRNM": fit(surname, 25),
        "WWTYC": tyc,
        "WWNICK": "",
    }
    writer.stamp_party_row(row, "F0111", party, 1 + idln * 45)
    return row


def email_rows(writer: PartyWriter, party: Party, rows: list[tuple[str, Row]]) -> Row | None:
    """F01151 line-0 rows by the plan's e-mail case; returns the first e-mail row, if any."""
    case = party.email_case
    if case in ("none", "contact_only"):
        return None
    local, domain = writer.mailbox(party, party.first, party.last, role_ok=not party.person)
    valid = f"{local}@{domain}"
    lines: list[tuple[str, str]] = []
    if case in ("url_plus_email", "url_only"):
        site = f"www.{party.domain}" if party.domain else f"www.linkedin.com/in/{local.replace('.', '-')}"
        lines.append((URL_TYPE, f"https://{site}" if writer.rng.random() < 0.5 else site))
    if case == "invalid":
        lines.append((EMAIL_TYPE, broken_email(writer, local, domain)))
    elif case == "messy":
        lines.append((EMAIL_TYPE, messy_email(local, domain)))
    elif case == "invalid_then_valid":
        lines += [(EMAIL_TYPE, broken_email(writer, local, domain)), (EMAIL_TYPE, valid)]
    elif case == "two_valid":
        other_local, other_domain = writer.mailbox(party, party.first, party.last, role_ok=True)
        lines += [(EMAIL_TYPE, valid), (EMAIL_TYPE, f"{other_local}@{other_domain}")]
    elif case != "url_only":
        lines.append((EMAIL_TYPE, valid))
    first: Row | None = None
    for rck7, (etp, address) in enumerate(lines, start=1):
        row = _email(writer, party, 0, rck7, etp, address)
        rows.append(("F01151", row))
        if first is None and etp == EMAIL_TYPE:
            first = row
    return first


def _email(writer: PartyWriter, party: Party, idln: int, rck7: int, etp: str, address: str) -> Row:
    row = {
        "EAAN8": party.an8,
        "EAIDLN": idln,
        "EARCK7": rck7,
        "EAETP": etp,
        "EAEMAL": fit(address, 256),
        "EAEHIER": 1 if rck7 == 1 and etp == EMAIL_TYPE else 0,
        "EAEFOR": "",
        "EAECLASS": "",
    }
    writer.stamp_party_row(row, "F01151", party, 30 + idln * 45 + rck7 * 7)
    return row


_PHONE_TYPES = {
    "normal": ("",),
    "none": (),
    "fax_only": ("FAX",),
    "home_only": ("HOM",),
    "business_fax": ("", "FAX"),
    "fax_first": ("FAX", ""),
    "mobile": ("", "CAR"),
    "area_in_number": ("",),
}


def phone_rows(writer: PartyWriter, party: Party, area: str, rows: list[tuple[str, Row]]) -> None:
    """F0115 line-0 rows by the plan's phone case (blank type = business, FAX, HOM, CAR)."""
    for rck7, phone_type in enumerate(_PHONE_TYPES[party.phone_case], start=1):
        ar1, ph1 = writer.phone_number(party.country, area)
        if party.phone_case == "area_in_number":
            ar1, ph1 = "", f"({ar1}) {ph1}"
        rows.append(("F0115", _phone(writer, party, 0, rck7, phone_type, ar1, ph1)))


def _phone(writer: PartyWriter, party: Party, idln: int, rck7: int, phtp: str, ar1: str, ph1: str) -> Row:
    row = {
        "WPAN8": party.an8,
        "WPIDLN": idln,
        "WPRCK7": rck7,
        "WPCNLN": rck7,
        "WPPHTP": phtp,
        "WPAR1": ar1,
        "WPPH1": ph1,
    }
    writer.stamp_party_row(row, "F0115", party, 60 + idln * 45 + rck7 * 9)
    return row

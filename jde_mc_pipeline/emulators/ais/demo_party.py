"""One demo party turned into JDE rows: names, e-mails, phones, addresses and audit stamps.

Shared by the bulk generator (`demo.generate_demo`) and the churn (`demo_churn`), so that a customer
created during a run looks exactly like one loaded at start-up. A `Party` is the generator's plan
for one AN8 (its role and the hard cases it carries); `PartyWriter.rows()` turns it into database
rows (column names with prefixes, Julian dates, HHMMSS times, CHAR padding where the plan says so).

Audit stamps follow how JDE writes them: Address Book Revisions (P01012) saves F0101, F0116 and the
F0111 line 0 in one go, the e-mail (P01111), phone (P0115) and customer master (P03013) rows follow
a few minutes later; conversions (R0101Z1I, user CNVUSER) ran overnight.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jde_mc_pipeline.emulators.ais import demo_pools as pools
from jde_mc_pipeline.jde.tables import TABLES

Row = dict[str, Any]

PROGRAMS = {"F0101": "P01012", "F0116": "P01012", "F0111": "P01012", "F01151": "P01111"}
PROGRAMS |= {"F0115": "P0115", "F03012": "P03013"}
EMAIL_TYPE, URL_TYPE = "E", "I"  # UDC 01/ET: E = e-mail; I (internet address) is UNCONFIRMED.

_AUDIT_COLUMNS = {
    name: tuple(t.db_name(alias) for alias in ("USER", "PID", "JOBN", "UPMJ", "UPMT"))
    for name, t in TABLES.items()
}
_STRING_LENGTHS = {  # the on-demand category codes stay blank in the demo: the store's default fills them
    name: tuple(
        (t.db_name(c.alias), c.length) for c in t.columns if c.kind == "string" and c.alias not in t.on_demand
    )
    for name, t in TABLES.items()
}


class FastRandom(random.Random):
    """random.Random with choice/randrange from one `random()` call each: 3x faster, still seeded.

    The generator draws about 50 numbers per party; with the stock methods they were half the time of
    a 100,000-party demo. The tiny bias of `int(random() * n)` does not matter for demo data.
    """

    def choice(self, seq):  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:  # type: ignore[override]
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))


# Padded copies of the values that repeat (codes, pool words, blanks), shared instead of rebuilt per row.
_UNIQUE_COLUMNS = frozenset(
    ("ABALKY", "ABTAX", "ABALPH", "ABDC", "ALADD1", "ALADDZ", "EAEMAL", "WPPH1", "WWALPH", "WWMLNM")
)
_PADDED: dict[tuple[str, int], str] = {}


def fit(value: str, length: int) -> str:
    """Cut a value to a column length in characters (JDE lengths count characters, not bytes)."""
    return value if len(value) <= length else value[:length].rstrip()


def pad_row(table: str, row: Row) -> Row:
    """Pad every CHAR column with trailing blanks to its length, as JDE's NCHAR columns hold them."""
    for column, length in _STRING_LENGTHS[table]:
        value = row[column]
        if column in _UNIQUE_COLUMNS:
            row[column] = value.ljust(length)
        else:
            padded = _PADDED.get((value, length))
            if padded is None:
                padded = _PADDED.setdefault((value, length), value.ljust(length))
            row[column] = padded
    return row


@lru_cache(maxsize=65536)
def compress(name: str) -> str:
    """F0101.DC: the alpha name upper-cased without blanks or punctuation, for searches."""
    return "".join(ch for ch in name.upper() if ch.isalnum())[:40]


@lru_cache(maxsize=4096)
def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of a name, accents dropped: Müller -> muller."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalnum())


_LEGAL_FORMS = frozenset(
    [
        "inc",
        "llc",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "gmbh",
        "sa",
        "de",
        "cv",
        "kg",
        "ag",
        "aps",
        "of",
    ]
)


@lru_cache(maxsize=65536)
def domain_words(alph: str) -> tuple[str, ...]:
    """The words of a company name usable in a domain (`Summit Steel, Inc.` -> summit, steel, inc)."""
    words = (ascii_slug(word) for word in alph.replace("&", " ").replace(",", " ").split())
    return tuple(word for word in words if word and word not in _LEGAL_FORMS)


def business_unit(code: str) -> str:
    """MCU-style codes are right-justified in 12 characters (leading blanks)."""
    return code.rjust(12)


def fill_pattern(rng: random.Random, pattern: str) -> str:
    """A postcode from a pattern: 9 = digit, A = letter, anything else kept."""
    out = []
    for ch in pattern:
        if ch == "9":
            out.append(str(rng.randrange(10)))
        elif ch == "A":
            out.append(chr(65 + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


@dataclass(slots=True)
class Stamp:
    """One audit stamp: who, which program, where and when (day offset and seconds after midnight)."""

    user: str
    jobn: str
    day: int
    seconds: int
    pid: str = ""


@dataclass(slots=True)
class Party:
    """The plan for one AN8; case fields name the real-life trouble this party carries."""

    an8: int
    at1: str
    companies: tuple[str, ...]
    person: bool
    alph: str
    first: str
    middle: str
    last: str
    domain: str
    country: str
    created: Stamp
    padded: bool = False
    email_case: str = "normal"
    address_case: str = "normal"
    name_case: str = "normal"
    phone_case: str = "normal"
    contacts: int = 0
    parent: int = 0
    later: dict[str, Stamp] = field(default_factory=dict)


class PartyWriter:
    """Turns party plans into rows; holds the pools state (used e-mails, domains) across parties."""

    def __init__(self, rng: random.Random, julian: list[int], today: int, used: set[str]):
        self.rng = rng
        self.julian = julian  # julian[day offset] -> CYYDDD
        self.today = today  # day offset of today
        self.used = used  # lower-cased e-mails and company domains already handed out
        self.non_ascii_count = 0

    # -- names and addresses -------------------------------------------------------------------------

    def company_domain(self, alph: str) -> str:
        """A domain derived from the company name, unique so that shared e-mails are only deliberate."""
        words = domain_words(alph)
        base = "".join(words[:2]) if self.rng.random() < 0.6 else "".join(words[:3])
        tld = self.rng.choice(pools.COMPANY_TLDS)
        domain, serial = (base or "company") + tld, 1
        while domain in self.used:
            serial += 1
            domain = f"{base or 'company'}{serial}{tld}"
        self.used.add(domain)
        return domain

    def mailbox(self, party: Party, first: str, last: str, role_ok: bool = True) -> tuple[str, str]:
        """A fresh (local part, domain) for a person or company; unique over the whole address book."""
        rng = self.rng
        ascii_first, ascii_last = ascii_slug(first), ascii_slug(last)
        if not (ascii_first and ascii_last):  # a name in another script: no name-based mailbox
            ascii_first, ascii_last, role_ok = "info", "office", bool(party.domain)
        if party.domain:
            domain = party.domain
            if role_ok and rng.random() < 0.45:
                local = rng.choice(pools.ROLE_MAILBOXES)
            else:
                local = rng.choice((f"{ascii_first}.{ascii_last}", f"{ascii_first[0]}{ascii_last}"))
        else:
            domain = rng.choice(pools.FREEMAIL)
            local = rng.choice((f"{ascii_first}.{ascii_last}", f"{ascii_first}{ascii_last[0]}", ascii_last))
        candidate, serial = local, 0
        while f"{candidate}@{domain}" in self.used:
            serial += 1
            candidate = f"{local}{rng.randrange(10, 99) if serial < 3 else serial}"
        self.used.add(f"{candidate}@{domain}")
        return candidate, domain

    def us_address(self) -> tuple[str, str, str, str, str, str, str]:
        """(ADD1, ADD2, CTY1, COUN, ADDS, ADDZ, area code) somewhere in the US."""
        rng = self.rng
        city, state, county, zip3, area = rng.choice(pools.US_PLACES)
        add1 = f"{rng.randrange(1, 9900)} {rng.choice(pools.STREET_NAMES)} {rng.choice(pools.STREET_TYPES)}"
        add2 = rng.choice(pools.SUITES) if rng.random() < 0.25 else ""
        zipcode = f"{zip3}{rng.randrange(100):02d}"
        if rng.random() < 0.2:
            zipcode += f"-{rng.randrange(10000):04d}"
        return add1, add2, city, county, state, zipcode, area

    def foreign_address(self, country: str) -> tuple[str, str, str, str, str, str, str]:
        """(ADD1, ADD2, CTY1, COUN, ADDS, ADDZ, phone prefix) in another country."""
        rng = self.rng
        city, state, pattern, prefix = rng.choice(pools.FOREIGN_PLACES[country])
        street = rng.choice(pools.FOREIGN_STREETS[country])
        number = rng.randrange(1, 300)
        add1 = f"{street} {number}" if country in ("DE", "DK", "CH") else f"{number} {street}"
        return add1, "", city, "", state, fill_pattern(rng, pattern), prefix

    def phone_number(self, country: str, area: str) -> tuple[str, str]:
        """(AR1, PH1) in the country's usual writing."""
        rng = self.rng
        if country in ("US", "CA", ""):
            return area, f"{rng.randrange(200, 999)}-{rng.randrange(10000):04d}"
        return area, f"{rng.randrange(100, 9999)} {rng.randrange(1000, 9999)}"

    # -- rows ------------------------------------------------------------------------------------------

    def stamp_row(self, row: Row, table: str, stamp: Stamp, delay: int = 0) -> Row:
        """Set the five audit columns of a row; UPMT is HHMMSS (leading zeros lost, 09:30:00 = 93000)."""
        user, pid, jobn, upmj, upmt = _AUDIT_COLUMNS[table]
        seconds = min(stamp.seconds + delay, 86399)
        row[user] = stamp.user
        row[pid] = stamp.pid or PROGRAMS[table]
        row[jobn] = stamp.jobn
        row[upmj] = self.julian[stamp.day]
        row[upmt] = seconds // 3600 * 10000 + seconds // 60 % 60 * 100 + seconds % 60
        return row

    def stamp_party_row(self, row: Row, table: str, party: Party, delay: int = 0) -> Row:
        """Audit columns from a later change of that table if planned, else creation time plus a delay."""
        later = party.later.get(table)
        if later is not None:
            return self.stamp_row(row, table, later)
        return self.stamp_row(row, table, party.created, delay)

    def stamp(self, party: Party, table: str, delay: int = 0) -> Stamp:
        """The row's stamp: a later change of that table if planned, else creation time plus a delay."""
        later = party.later.get(table)
        if later is not None:
            return later
        created = party.created
        return Stamp(created.user, created.jobn, created.day, created.seconds + delay, created.pid)

"""Demo address book for the AIS emulator: N realistic parties with the cases that hurt in real life.

`generate_demo(n, seed, today)` returns the six tables as lists of rows keyed by database column
name (`ABAN8`, `EAEMAL`, ...), the shape of a database export, deterministic for (n, seed, today).
`churn_changes(...)` (from `demo_churn`) returns what JDE users change during a day.

Every hard case is placed on purpose, at a small rate, with at least one occurrence whenever
n >= 200 (`MIN_PARTIES_FOR_ALL_CASES`); the rates below are the share of in-scope parties (customers
and vendors, whose data the connector reads) unless noted. Cases within one dimension (e-mail,
address, name, phone, timing) are exclusive; dimensions combine freely. Design choices:

- AN8s count up from 1001 with small gaps (deleted records). Rows are ordered by primary key.
- About 30% of parties have every CHAR column padded with trailing blanks to its length (JDE's
  NCHAR storage; exports are often trimmed, so both forms occur). MCU codes always carry leading
  blanks. E-mail addresses never collide by accident: shared e-mails are deliberate.
- UPMJ goes back to 2009 (a go-live conversion by CNVUSER/R0101Z1I in the first days of 2009), then
  spreads over the years with a bias to recent ones. Rows changed "today" carry overnight batch
  times (00:30-05:59) so that they are not in the future of the emulator's clock when it starts.
- Phone types: blank = business, FAX, HOM (home), CAR (mobile); ETP "I" for a web address. These
  UDC values are common but UNCONFIRMED (docs/ais.md, The six tables).
- Speed: one seeded `FastRandom` and plain dict rows; 100,000 parties (about 660,000 rows) take about
  4 s of CPU and 0.5 GB of memory. The seed is a string of (n, seed, today), so the result does not
  depend on PYTHONHASHSEED.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from jde_mc_pipeline.emulators.ais.demo_churn import churn_changes
from jde_mc_pipeline.emulators.ais.demo_party import FastRandom, Party, PartyWriter, Row
from jde_mc_pipeline.emulators.ais.demo_plan import OWN_DOMAIN, plan_party
from jde_mc_pipeline.emulators.ais.demo_rows import write_party
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.jde.tables import TABLES

__all__ = ["churn_changes", "generate_demo"]

MIN_PARTIES_FOR_ALL_CASES = 200
FIRST_AN8 = 1001

ROLE_RATES = {"V": 0.20, "E": 0.08, "O": 0.04, "both": 0.015, "C_no_master": 0.03}  # share of all; rest C
EMAIL_RATES = {
    "none": 0.04,
    "invalid": 0.015,
    "messy": 0.02,
    "invalid_then_valid": 0.01,
    "two_valid": 0.03,
    "shared": 0.01,
    "url_plus_email": 0.03,
    "url_only": 0.005,
    "contact_only": 0.005,
}
ADDRESS_RATES = {
    "eftb0": 0.15,
    "history": 0.06,
    "future": 0.015,
    "history_future": 0.005,
    "no_state": 0.01,
    "no_zip": 0.01,
    "blank_country": 0.02,
    "CA": 0.02,
    "GB": 0.01,
    "DE": 0.01,
    "MX": 0.015,
    "none": 0.005,
}
NAME_RATES = {"non_ascii": 0.02, "forty": 0.01, "no_ww0": 0.015}
PHONE_RATES = {
    "none": 0.05,
    "fax_only": 0.01,
    "home_only": 0.02,
    "business_fax": 0.20,
    "fax_first": 0.02,
    "mobile": 0.05,
    "area_in_number": 0.02,
}
TIME_RATES = {"y2009": 0.005, "today": 0.005, "recent": 0.02, "child_later": 0.08}
MINIMUM_COUNT = {"today": 2}  # two parties changed today: same day, different UPMT


def generate_demo(n: int, seed: int, today: date) -> dict[str, list[dict[str, Any]]]:
    """N parties (AN8s in F0101) and their rows in all six tables, deterministic for (n, seed, today)."""
    if n < 0:
        raise ValueError(f"the number of demo parties must be >= 0, got {n}")
    rng = FastRandom(f"jde-demo/{n}/{seed}/{today.isoformat()}")
    start = date(min(2009, today.year - 10), 1, 1)
    days = (today - start).days
    julian = [to_julian(start + timedelta(days=d)) for d in range(days + 400)]
    writer = PartyWriter(rng, julian, days, {OWN_DOMAIN})
    force = n >= MIN_PARTIES_FOR_ALL_CASES

    roles = _assign(rng, n, ROLE_RATES, "C", force)
    in_scope = [i for i, role in enumerate(roles) if role not in ("E", "O")]
    cases = {
        name: dict(zip(in_scope, _assign(rng, len(in_scope), rates, "normal", force), strict=True))
        for name, rates in (
            ("email", EMAIL_RATES),
            ("address", ADDRESS_RATES),
            ("name", NAME_RATES),
            ("phone", PHONE_RATES),
            ("time", TIME_RATES),
        )
    }
    out: dict[str, list[Row]] = {name: [] for name in TABLES}
    donors: list[Row] = []
    recipients: list[tuple[Party, Row]] = []
    an8 = FIRST_AN8
    for i, role in enumerate(roles):
        party = plan_party(writer, an8, role, {name: case.get(i, "normal") for name, case in cases.items()})
        primary = write_party(writer, party, out)
        if primary is not None and party.email_case == "shared":
            recipients.append((party, primary))
        elif primary is not None and party.email_case == "normal" and role not in ("E", "O"):
            donors.append(primary)
        an8 += 1 if rng.random() < 0.9 else rng.randrange(2, 6)
    for party, row in recipients:
        shared = rng.choice(donors)["EAEMAL"].strip() if donors else row["EAEMAL"]
        row["EAEMAL"] = shared.ljust(256) if party.padded else shared
    return out


def _assign(rng: random.Random, size: int, rates: dict[str, float], default: str, force: bool) -> list[str]:
    """Exactly round(rate * size) labels per case (at least one each when forced), shuffled."""
    labels: list[str] = []
    for label, rate in rates.items():
        count = round(rate * size)
        if force:
            count = max(count, MINIMUM_COUNT.get(label, 1))
        labels += [label] * count
    labels = labels[:size] + [default] * (size - len(labels))
    rng.shuffle(labels)
    return labels

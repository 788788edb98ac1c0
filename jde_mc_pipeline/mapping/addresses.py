"""The party's current address (docs/mapping.md) and its two Mailchimp shapes (the ADDRESS merge field,
the customer address).

Current = the F0116 row with the greatest EFTB that is ≤ today; a blank EFTB (NaT) is the oldest. A
party whose rows all start in the future has no current address yet.

Country: JDE's CTR (UDC 00/CN) is usually ISO 3166 alpha-2 but may be blank, alpha-3 or a local code.
pycountry decides: alpha-2 is kept, alpha-3 and numeric codes are converted to alpha-2, blank means
`default_country`. An unknown code is not guessed: the ADDRESS merge field gets `default_country` (what
Mailchimp itself applies to an address without a country) and the customer address drops
country_code; both record the event `country_unknown` with the JDE value.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry


def current_addresses(f0116: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Per AN8 with a current address: addr1, addr2 (ADD2, ADD3, ADD4 joined by ", "), city, state,
    zip, ctr."""
    eftb = f0116["EFTB"]
    columns = ["AN8", "EFTB", "ADD1", "ADD2", "ADD3", "ADD4", "CTY1", "ADDS", "ADDZ", "CTR"]
    rows = f0116.loc[eftb.isna() | (eftb <= pd.Timestamp(today)), columns]
    order = pd.DataFrame(
        {
            "an8": rows["AN8"].to_numpy(dtype=np.int64),
            "eftb": rows["EFTB"].fillna(pd.Timestamp.min).to_numpy(),
            "row": np.arange(len(rows)),
        }
    ).sort_values(["an8", "eftb"], kind="stable")
    latest = order.drop_duplicates("an8", keep="last")
    picked = rows.iloc[latest["row"].to_numpy()]
    addr2 = picked["ADD2"]
    for extra in ("ADD3", "ADD4"):
        addr2 = (
            (addr2 + ", " + picked[extra]).where(picked[extra] != "", addr2).where(addr2 != "", picked[extra])
        )
    return pd.DataFrame(
        {
            "an8": latest["an8"].to_numpy(),
            "addr1": picked["ADD1"].to_numpy(),
            "addr2": addr2.to_numpy(),
            "city": picked["CTY1"].to_numpy(),
            "state": picked["ADDS"].to_numpy(),
            "zip": picked["ADDZ"].to_numpy(),
            "ctr": picked["CTR"].to_numpy(),
        }
    )


@lru_cache(maxsize=1024)
def iso_country(code: str) -> str | None:
    """The ISO alpha-2 code for a JDE CTR value (alpha-2, alpha-3 or numeric); None when unknown."""
    code = code.strip().upper()
    if not code:
        return None
    for key in ("alpha_2", "alpha_3", "numeric"):
        try:
            country = pycountry.countries.get(**{key: code})
        except (KeyError, LookupError):
            country = None
        if country is not None:
            return country.alpha_2
    return None


def resolve_countries(ctr: pd.Series) -> pd.Series:
    """ISO alpha-2 per row: "" for blank CTR, None for an unknown one (only distinct values are looked up)."""
    distinct = pd.unique(ctr)
    codes = {code: ("" if code == "" else iso_country(code)) for code in distinct}
    return ctr.map(codes)


def jde_address_text(parties: pd.DataFrame) -> pd.Series:
    """The address as JDE holds it, for the trail: addr1|addr2|city|state|zip|ctr."""
    text = parties["addr1"]
    for column in ("addr2", "city", "state", "zip", "ctr"):
        text = text + "|" + parties[column]
    return text

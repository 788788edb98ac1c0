"""Parties from the six JDE frames (mapping.md §1–2): one row per AN8 that has an F0101 row.

Everything is a join on AN8 of per-table winners (e-mail, phone, address, names) chosen by sorting, so
the cost is a few sorts and merges whatever the number of parties. The party frame keeps the values as
JDE holds them (trimmed, uncut): cuts and defaults belong to the payloads, and the trail compares both.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.addresses import current_addresses
from jde_mc_pipeline.mapping.emails import choose_emails
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.phones import choose_phones

TEXT_COLUMNS: tuple[str, ...] = (
    "company",
    "first_name",
    "last_name",
    "email",
    "email_source",
    "phone",
    "phone_source",
    "addr1",
    "addr2",
    "city",
    "state",
    "zip",
    "ctr",
)

EMAIL_OK = ""
EMAIL_MISSING = "no_email"
EMAIL_INVALID = "invalid_email"


def pulled_an8s(frames: dict[str, pd.DataFrame]) -> np.ndarray:
    """Every AN8 present in any of the frames, sorted: the parties this batch must account for."""
    parts = [frame["AN8"].dropna().to_numpy(dtype=np.int64) for frame in frames.values()]
    return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)


def latest_update(frames: dict[str, pd.DataFrame], timezone: object) -> pd.DataFrame:
    """Per AN8: the greatest `updated_at` over its rows in all the frames (NaT when none is stamped).

    The maximum is taken on naive UTC instants (tz-aware numpy arrays would be Python objects) and the
    result is shown in `timezone`, JDE's.
    """
    parts = []
    for frame in frames.values():
        stamps = frame["updated_at"]
        utc = stamps.dt.tz_convert("UTC") if stamps.dt.tz is not None else stamps.dt.tz_localize("UTC")
        naive = utc.dt.tz_localize(None).to_numpy()
        parts.append(pd.DataFrame({"an8": frame["AN8"].to_numpy(dtype=np.int64), "updated_at": naive}))
    stacked = pd.concat(parts, ignore_index=True)
    latest = stacked.groupby("an8", sort=False)["updated_at"].max()
    stamps = pd.Series(latest.to_numpy()).dt.tz_localize("UTC").dt.tz_convert(timezone or "UTC")
    return pd.DataFrame({"an8": latest.index.to_numpy(dtype=np.int64), "updated_at": stamps})


def assemble_parties(
    frames: dict[str, pd.DataFrame], options: MappingOptions, today: dt.date
) -> pd.DataFrame:
    """The party frame (schema `PartyFrame`): identity, roles, contact data and `updated_at` per AN8."""
    f0101 = frames["F0101"].drop_duplicates("AN8")
    an8 = f0101["AN8"].to_numpy(dtype=np.int64)
    at1 = f0101["AT1"].str.upper()
    customers_by_co = pd.unique(frames["F03012"]["AN8"].dropna().to_numpy(dtype=np.int64))
    parties = pd.DataFrame(
        {
            "an8": an8,
            "company": f0101["ALPH"].to_numpy(),
            "is_customer": (
                np.isin(an8, customers_by_co)
                | at1.isin([t.upper() for t in options.customer_search_types]).to_numpy()
            ),
            "is_vendor": at1.isin([t.upper() for t in options.vendor_search_types]).to_numpy(),
        }
    )
    f0111 = frames["F0111"]
    names = f0111.loc[f0111["IDLN"] == 0, ["AN8", "GNNM", "SRNM"]].drop_duplicates("AN8")
    names = pd.DataFrame(
        {
            "an8": names["AN8"].to_numpy(dtype=np.int64),
            "first_name": names["GNNM"].to_numpy(),
            "last_name": names["SRNM"].to_numpy(),
        }
    )
    tz = frames["F0101"]["updated_at"].dt.tz
    for part in (
        names,
        choose_emails(frames["F01151"]),
        choose_phones(frames["F0115"], options),
        current_addresses(frames["F0116"], today),
        latest_update(frames, tz),
    ):
        parties = parties.merge(part, on="an8", how="left", copy=False)
    has_email_row = parties["email_source"].notna()
    for column in TEXT_COLUMNS:
        parties[column] = parties[column].fillna("").astype(object)
    parties["email_problem"] = np.where(
        parties["email"] != "", EMAIL_OK, np.where(has_email_row, EMAIL_INVALID, EMAIL_MISSING)
    )
    return parties[["an8", *TEXT_COLUMNS, "email_problem", "is_customer", "is_vendor", "updated_at"]]

"""Parties from the six JDE frames (docs/mapping.md): one row per AN8 that has an F0101 row.

Everything is a lookup by AN8 of per-table winners (e-mail, phone, address, names) chosen by sorting,
so the cost is a few sorts and hash lookups whatever the number of parties (no frame-wide merges).
The party frame keeps the values as JDE holds them (trimmed, uncut): cuts and defaults belong to the
payloads, and the trail compares both.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.addresses import current_addresses
from jde_mc_pipeline.mapping.emails import choose_emails
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.phones import choose_phones
from jde_mc_pipeline.mapping.segment_values import segment_columns

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
    """Every valid AN8 (a positive number) in any of the frames, sorted: the parties to account for.

    A row whose AN8 is null or not positive names no party; it is reported in the failures only.
    """
    parts = [frame["AN8"].dropna().to_numpy(dtype=np.int64) for frame in frames.values()]
    an8s = np.sort(pd.unique(np.concatenate(parts))) if parts else np.empty(0, dtype=np.int64)
    return an8s[an8s > 0]


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


def _lookup(part: pd.DataFrame, an8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row of `part` per AN8, 0 when absent; whether present): a hash lookup instead of a merge."""
    position = pd.Index(part["an8"]).get_indexer(an8)
    return np.maximum(position, 0), position >= 0


def assemble_parties(
    frames: dict[str, pd.DataFrame], options: MappingOptions, today: dt.date
) -> pd.DataFrame:
    """The party frame (schema `PartyFrame`): identity, roles, contact data and `updated_at` per AN8."""
    f0101 = frames["F0101"][["AN8", "ALPH", "AT1"]]
    f0101 = f0101.drop_duplicates("AN8") if f0101["AN8"].duplicated().any() else f0101
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
    emails = choose_emails(frames["F01151"])
    for part in (
        names,
        emails,
        choose_phones(frames["F0115"], options),
        current_addresses(frames["F0116"], today),
    ):
        take, found = _lookup(part, an8)
        for column in part.columns.drop("an8"):
            values = part[column].to_numpy(dtype=object)
            parties[column] = (
                np.where(found, values[take], "") if len(values) else np.full(len(an8), "", object)
            )
    has_email_row = _lookup(emails, an8)[1]
    latest = latest_update(frames, frames["F0101"]["updated_at"].dt.tz)
    parties["updated_at"] = latest["updated_at"].array.take(_lookup(latest, an8)[0])  # every AN8 has a row
    parties["email_problem"] = np.where(
        parties["email"] != "", EMAIL_OK, np.where(has_email_row, EMAIL_INVALID, EMAIL_MISSING)
    )
    parties = parties[["an8", *TEXT_COLUMNS, "email_problem", "is_customer", "is_vendor", "updated_at"]]
    if options.segment_fields:
        parties = parties.assign(**segment_columns(frames, options, an8))
    return parties

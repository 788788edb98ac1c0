"""E-commerce customer payloads (docs/mapping.md), built column-wise from the holders of each e-mail.

The payload is `CustomerWrite` minus `key`, `previous_email`, `retires` and `an8s`: customer_id (the
MD5 of the lower-cased e-mail, docs/mapping.md: one record per e-mail, never an id re-used for another
address), email_address, opt_in_status, company / first_name / last_name (left out when blank unless
`blank_clears`) and address, carried as canonical JSON text (or None).

Address: only its non-blank parts; with `blank_clears` every part is sent, blanks as "" (so a part
cleared in JDE is cleared in Mailchimp; a wholly blank address sends every part blank). Country: a
valid CTR gives country_code; a blank CTR gives `default_country` when the address has any other part
(as for the ADDRESS merge field); an unknown CTR is dropped and `country_unknown` recorded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.addresses import resolve_countries
from jde_mc_pipeline.mapping.canonical import json_object, json_string
from jde_mc_pipeline.mapping.changes import email_hashes
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import EVENT_COUNTRY_UNKNOWN
from jde_mc_pipeline.mapping.text import cut_series
from jde_mc_pipeline.mapping.trail import events_frame, trail_frame

TEXT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("company", "company", "F0101.ALPH"),
    ("first_name", "first_name", "F0111.GNNM"),
    ("last_name", "last_name", "F0111.SRNM"),
)
"""(CustomerWrite field, party column, JDE source)."""

ADDRESS_PARTS: tuple[tuple[str, str, str], ...] = (
    ("address1", "addr1", "F0116.ADD1"),
    ("address2", "addr2", "F0116.ADD2+ADD3+ADD4"),
    ("city", "city", "F0116.CTY1"),
    ("province_code", "state", "F0116.ADDS"),
    ("postal_code", "zip", "F0116.ADDZ"),
)


def customer_fields(holders: pd.DataFrame, options: MappingOptions, with_trail: bool = True):
    """(columns, body fields, events frame, trail frames) for the holder parties, row-aligned.

    Columns: customer_id, company, first_name, last_name (str or None), address (JSON text or None).
    Body fields: the JSON-encoded payload fields for `json_object`, all but email_address (the caller's).
    """
    n = len(holders)
    limit = options.text_limit_bytes
    an8 = holders["an8"].to_numpy(dtype=np.int64)
    customer_id = pd.Series(email_hashes(holders["email"]), index=holders.index, dtype=object)
    columns: dict[str, np.ndarray] = {"customer_id": customer_id.to_numpy(dtype=object)}
    body_fields: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        ("customer_id", json_string(customer_id), None),
        ("opt_in_status", np.full(n, "true" if options.opt_in_status else "false", dtype=object), None),
    ]
    trail = []
    for field, column, source in TEXT_FIELDS:
        value = cut_series(holders[column], limit)
        present = np.ones(n, dtype=bool) if options.blank_clears else (value != "").to_numpy()
        columns[field] = value.to_numpy(dtype=object).copy()
        columns[field][~present] = None
        body_fields.append((field, json_string(value), present))
        if with_trail:
            trail.append(trail_frame(an8, ECOMMERCE_CUSTOMER, field, source, holders[column], columns[field]))

    parts = {key: cut_series(holders[column], limit) for key, column, _ in ADDRESS_PARTS}
    any_part = np.zeros(n, dtype=bool)
    for value in parts.values():
        any_part |= (value != "").to_numpy()
    country = resolve_countries(holders["ctr"])
    unknown = country.isna().to_numpy() & any_part
    blank = (country == "").to_numpy()
    country = np.where(
        ~any_part | unknown, "", np.where(blank, options.default_country, country.to_numpy(dtype=object))
    )
    clears = options.blank_clears
    address_fields = [
        (key, json_string(value), None if clears else (value != "").to_numpy())
        for key, value in parts.items()
    ]
    address_fields.append(
        ("country_code", json_string(pd.Series(country, dtype=object)), None if clears else country != "")
    )
    address = json_object(address_fields, n)
    sent = np.ones(n, dtype=bool) if clears else any_part
    body_fields.append(("address", address, sent))
    columns["address"] = np.where(sent, address, None)
    events = events_frame(
        an8[unknown], ECOMMERCE_CUSTOMER, EVENT_COUNTRY_UNKNOWN, holders["ctr"].to_numpy()[unknown]
    )
    if with_trail:
        trail.append(
            trail_frame(
                an8,
                ECOMMERCE_CUSTOMER,
                "address",
                "F0116.ADD1|ADD2+ADD3+ADD4|CTY1|ADDS|ADDZ|CTR",
                holders["jde_address"],
                columns["address"],
            )
        )
    return columns, body_fields, events, trail

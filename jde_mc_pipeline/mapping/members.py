"""List-member payloads (docs/mapping.md), built column-wise from the holders of each e-mail.

`merge_fields` is carried as its canonical JSON text, so the sync builds a `MemberWrite` with one
`json.loads` and the audit stores exactly what was hashed. Blank values are left out (unless
`blank_clears`); the segment fields with a merge tag are merge fields like the others (segment_payloads.py);
ADDRESS goes only when addr1, city, state and zip are all non-blank, else it is left out
and `address_incomplete` is recorded with the missing parts; `status` is never part of the payload.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.addresses import resolve_countries
from jde_mc_pipeline.mapping.canonical import json_object, json_string
from jde_mc_pipeline.mapping.options import LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import EVENT_ADDRESS_INCOMPLETE, EVENT_COUNTRY_UNKNOWN
from jde_mc_pipeline.mapping.segment_payloads import segment_field, sendable
from jde_mc_pipeline.mapping.text import cut_series
from jde_mc_pipeline.mapping.trail import events_frame, trail_frame

TEXT_MERGE_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("FNAME", "first_name", "F0111.GNNM"),
    ("LNAME", "last_name", "F0111.SRNM"),
    ("COMPANY", "company", "F0101.ALPH"),
    ("PHONE", "phone", "F0115.AR1+PH1"),
)
"""(merge tag, party column, JDE source) of the text merge fields."""

ADDRESS_PARTS: tuple[tuple[str, str], ...] = (
    ("addr1", "addr1"),
    ("addr2", "addr2"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip"),
)
"""(ADDRESS key, party column); country is resolved separately."""
REQUIRED_ADDRESS_PARTS: tuple[str, ...] = ("addr1", "city", "state", "zip")
ADDRESS_SOURCE = "F0116.ADD1|ADD2+ADD3+ADD4|CTY1|ADDS|ADDZ|CTR"


def member_fields(holders: pd.DataFrame, options: MappingOptions, with_trail: bool = True):
    """(merge_fields JSON array, events frame, trail frame) for the holder parties, row-aligned."""
    n = len(holders)
    limit = options.text_limit_bytes
    fields: list[tuple[str, np.ndarray, np.ndarray | None]] = []
    trail_parts = []
    segment_events: list[pd.DataFrame] = []
    an8 = holders["an8"].to_numpy(dtype=np.int64)
    for tag, column, source in TEXT_MERGE_FIELDS:
        value = cut_series(holders[column], limit)
        present = None if options.blank_clears else (value != "").to_numpy()
        fields.append((tag, json_string(value), present))
        if with_trail:
            mapped = value if present is None else value.where(present, None)
            trail_parts.append(trail_frame(an8, LIST_MEMBER, tag, source, holders[column], mapped))
    for segment in options.segment_fields:
        if segment.merge_field:
            value, events_of_field, part = segment_field(holders, segment, options, with_trail)
            fields.append((segment.merge_field, json_string(value), sendable(value, segment, options)))
            segment_events.append(events_of_field)
            trail_parts += part
    jdean8 = holders["an8_text"]
    fields.append(("JDEAN8", json_string(jdean8), None))
    if with_trail:
        trail_parts.append(trail_frame(an8, LIST_MEMBER, "JDEAN8", "F0101.AN8", jdean8, jdean8))

    parts = {key: cut_series(holders[column], limit) for key, column in ADDRESS_PARTS}
    country = resolve_countries(holders["ctr"])
    unknown_country = country.isna().to_numpy()
    country = country.where(~unknown_country & (country != ""), options.default_country)
    missing = np.column_stack([(parts[key] == "").to_numpy() for key in REQUIRED_ADDRESS_PARTS])
    complete = ~missing.any(axis=1)
    address = json_object(
        [
            (
                key,
                json_string(parts[key]),
                None if key in REQUIRED_ADDRESS_PARTS else (parts[key] != "").to_numpy(),
            )
            for key in parts
        ]
        + [("country", json_string(country), None)],
        n,
    )
    blank_address = missing.all(axis=1) & (holders["addr2"] == "").to_numpy()
    send_blank = blank_address if options.blank_clears else np.zeros(n, dtype=bool)
    address[send_blank] = '""'
    fields.append(("ADDRESS", address, complete | send_blank))
    merge_fields = json_object(fields, n)

    incomplete = ~complete & ~send_blank
    gaps = np.full(int(incomplete.sum()), "", dtype=object)
    for name, gap in zip(REQUIRED_ADDRESS_PARTS, missing[incomplete].T, strict=True):
        gaps = np.add(gaps, np.where(gap, name + ",", ""))
    gap_text = pd.Series(gaps, dtype=object).str.rstrip(",")
    known = complete & unknown_country
    events = [
        events_frame(an8[incomplete], LIST_MEMBER, EVENT_ADDRESS_INCOMPLETE, "missing: " + gap_text),
        events_frame(an8[known], LIST_MEMBER, EVENT_COUNTRY_UNKNOWN, holders["ctr"].to_numpy()[known]),
        *segment_events,
    ]
    if with_trail:
        mapped = pd.Series(address, dtype=object, index=holders.index).where(complete | send_blank, None)
        trail_parts.append(
            trail_frame(an8, LIST_MEMBER, "ADDRESS", ADDRESS_SOURCE, holders["jde_address"], mapped)
        )
    return merge_fields, pd.concat(events, ignore_index=True), trail_parts

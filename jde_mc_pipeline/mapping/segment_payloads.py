"""The segment fields in the member payload: a merge field's value, or a connector-owned tag.

The value is the party's `segment:<label>` (segment_values.py): the UDC description, or the code when
F0005 has no row for it (event `udc_missing`, detail `<column>=<code> (UDC <SY>/<RT>)`), or the code when
the field sends codes; cut to `text_limit_bytes` (merge fields) or to Mailchimp's 100 characters of a tag
name (tags: prefix + value). A blank code sends nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.options import LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import EVENT_UDC_MISSING
from jde_mc_pipeline.mapping.segment_values import code_column, value_column
from jde_mc_pipeline.mapping.segments import SegmentField
from jde_mc_pipeline.mapping.text import cut_series
from jde_mc_pipeline.mapping.trail import TrailPart, events_frame, trail_frame

TAG_LIMIT = 100
"""Mailchimp's longest tag name, in characters."""


def segment_values(holders: pd.DataFrame, segment: SegmentField) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """(value sent, code, mask of the codes without a UDC row) per holder; the value is "" when blank."""
    code = holders[code_column(segment)].astype(object)
    value = holders[value_column(segment)].astype(object)
    missing = (value.isna() & (code != "")).to_numpy(dtype=bool)
    return value.where(~missing, code).fillna("").astype(object), code, missing


def source_label(segment: SegmentField) -> str:
    """The trail's `source`: the column, and its UDC when the description is sent."""
    sy, rt = segment.udc or ("", "")
    return segment.column if segment.value == "code" else f"{segment.column} → F0005.DL01 (UDC {sy}/{rt})"


def missing_events(holders: pd.DataFrame, segment: SegmentField, code: pd.Series, missing: np.ndarray):
    """`udc_missing` for each holder whose code has no UDC row (its code was sent instead)."""
    sy, rt = segment.udc or ("", "")
    detail = f"{segment.column}=" + code[missing].astype(str) + f" (UDC {sy}/{rt}): sent as the code"
    an8 = holders["an8"].to_numpy(dtype=np.int64)[missing]
    return events_frame(an8, LIST_MEMBER, EVENT_UDC_MISSING, detail.to_numpy(dtype=object))


def sendable(value: pd.Series, segment: SegmentField, options: MappingOptions) -> np.ndarray | None:
    """Which merge field values are sent (None: all): blanks are left out like other blanks, unless
    `blank_clears`; a dropdown never gets a blank (it is not one of its choices)."""
    if options.blank_clears and segment.type != "dropdown":
        return None
    return (value != "").to_numpy()


def segment_field(
    holders: pd.DataFrame, segment: SegmentField, options: MappingOptions, with_trail: bool
) -> tuple[pd.Series, pd.DataFrame, list[TrailPart]]:
    """(merge field values, events, trail parts) of a segment field sent as a merge field."""
    value, code, missing = segment_values(holders, segment)
    value = cut_series(value, options.text_limit_bytes)
    trail = []
    if with_trail:
        sent = (
            value if options.blank_clears and segment.type != "dropdown" else value.where(value != "", None)
        )
        an8 = holders["an8"].to_numpy(dtype=np.int64)
        trail.append(trail_frame(an8, LIST_MEMBER, segment.merge_field, source_label(segment), code, sent))
    return value, missing_events(holders, segment, code, missing), trail


def segment_tags(
    holders: pd.DataFrame, options: MappingOptions, with_trail: bool
) -> tuple[list[np.ndarray], list[pd.DataFrame], list[TrailPart]]:
    """(per tag segment: the tag name per holder or "" for none, events, trail parts)."""
    names, events, trail = [], [], []
    an8 = holders["an8"].to_numpy(dtype=np.int64)
    for segment in options.segment_fields:
        if not segment.tag_prefix:
            continue
        value, code, missing = segment_values(holders, segment)
        tag = (segment.tag_prefix + value).str.slice(0, TAG_LIMIT).str.strip().where(value != "", "")
        names.append(tag.to_numpy(dtype=object))
        events.append(missing_events(holders, segment, code, missing))
        if with_trail:
            sent = tag.where(tag != "", None)
            trail.append(trail_frame(an8, LIST_MEMBER, segment.label, source_label(segment), code, sent))
    return names, events, trail

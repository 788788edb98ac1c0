"""The field-level trail (an8, target, field, source, source value → mapped value) and events.

The audit store keeps both (`mapped_values` and the reasons of `sync_outcomes`); they are long frames
built column-wise, one part per field, so their cost is a concatenation, not a loop. The trail's
labels are categoricals: at a million parties it has about twelve million rows. A mapped value of None
means "not sent" (blank, incomplete or not applicable).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

TRAIL_COLUMNS: tuple[str, ...] = ("an8", "target", "field", "source", "source_value", "mapped_value")
EVENT_COLUMNS: tuple[str, ...] = ("an8", "target", "event", "detail")


@dataclass(frozen=True)
class TrailPart:
    """The trail of one field of one target: row-aligned arrays, the labels once."""

    an8: np.ndarray
    target: str
    field: str
    source: str
    source_value: np.ndarray
    mapped_value: np.ndarray

    def without(self, an8s) -> TrailPart:
        """The same part minus the rows of these AN8s (e.g. the ones found unchanged)."""
        keep = ~np.isin(self.an8, np.asarray(an8s, dtype=np.int64))
        return replace(self, an8=self.an8[keep], source_value=self.source_value[keep],
                       mapped_value=self.mapped_value[keep])  # fmt: skip


def trail_frame(an8, target: str, field: str, source: str, source_value, mapped_value) -> TrailPart:
    """One trail row per AN8 for one field of one target."""
    return TrailPart(
        np.asarray(an8, dtype=np.int64),
        target,
        field,
        source,
        np.asarray(source_value, dtype=object),
        np.asarray(mapped_value, dtype=object),
    )


def build_trail(parts: list[TrailPart]) -> pd.DataFrame:
    """The long trail frame; target, field and source are categoricals (a million rows per field).

    Consumes `parts` (the list is emptied while its arrays are copied in), so that the parts and the
    frame are never both held in full: at a million parties the trail has twelve million rows. The
    label codes are repeated straight into small integers and the frame takes the filled arrays
    without copying or consolidating them, so the only new memory is the trail itself.
    """
    sizes = np.array([len(part.an8) for part in parts], dtype=np.int64)
    labels = {name: [getattr(part, name) for part in parts] for name in ("target", "field", "source")}
    total = int(sizes.sum())
    # JDE address numbers have at most 8 digits: int32 halves the column (int64 if one ever does not fit).
    small = np.iinfo(np.int32)
    fits = all(not len(p.an8) or (small.min <= p.an8.min() and p.an8.max() <= small.max) for p in parts)
    an8 = np.empty(total, dtype=np.int32 if fits else np.int64)
    source_value = np.empty(total, dtype=object)
    mapped_value = np.empty(total, dtype=object)
    start = 0
    while parts:
        part = parts.pop(0)
        end = start + len(part.an8)
        an8[start:end], source_value[start:end], mapped_value[start:end] = (
            part.an8,
            part.source_value,
            part.mapped_value,
        )
        start = end
        del part

    def categorical(values: list[str]) -> pd.Categorical:
        categories = list(dict.fromkeys(values))
        codes = np.array([categories.index(value) for value in values], dtype=np.int16)
        return pd.Categorical.from_codes(np.repeat(codes, sizes), categories=categories)

    columns = {
        "an8": an8,
        "target": categorical(labels["target"]),
        "field": categorical(labels["field"]),
        "source": categorical(labels["source"]),
        "source_value": source_value,
        "mapped_value": mapped_value,
    }
    return pd.DataFrame({name: columns[name] for name in TRAIL_COLUMNS}, copy=False)


def events_frame(an8, target: str, event: str, detail) -> pd.DataFrame:
    """One event row per AN8 (detail: a scalar or one value per AN8)."""
    an8 = np.asarray(an8, dtype=np.int64)
    detail = (
        np.asarray(detail, dtype=object) if not isinstance(detail, str) else np.full(len(an8), detail, object)
    )
    return pd.DataFrame({"an8": an8, "target": target, "event": event, "detail": detail})


def concat_frames(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    """Concatenate long frames (repeated texts are shared str objects, so a cell costs a pointer)."""
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        result = pd.DataFrame({column: pd.Series([], dtype=object) for column in columns})
        result["an8"] = result["an8"].astype(np.int64)
        return result
    result = pd.concat(frames, ignore_index=True)
    return result[list(columns)]


def renumbered(frame: pd.DataFrame) -> pd.DataFrame:
    """A fresh selection with a 0..n-1 index, without copying its data again (reset_index would).

    The shallow copy also tells pandas this is a frame of its own, not a view of the one selected from.
    """
    frame = frame.copy(deep=False)
    frame.index = pd.RangeIndex(len(frame))
    return frame

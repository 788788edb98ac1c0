"""The field-level trail (an8, target, field, source, source value → mapped value) and events.

The audit store keeps both (`mapped_values` and the reasons of `sync_outcomes`); they are long frames
built column-wise, one per field, so their cost is a concatenation, not a loop. A mapped value of None
means "not sent" (blank, incomplete or not applicable).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRAIL_COLUMNS: tuple[str, ...] = ("an8", "target", "field", "source", "source_value", "mapped_value")
EVENT_COLUMNS: tuple[str, ...] = ("an8", "target", "event", "detail")


def trail_frame(an8, target: str, field: str, source: str, source_value, mapped_value) -> pd.DataFrame:
    """One trail row per AN8 for one field of one target."""
    an8 = np.asarray(an8, dtype=np.int64)
    return pd.DataFrame(
        {
            "an8": an8,
            "target": target,
            "field": field,
            "source": source,
            "source_value": np.asarray(source_value, dtype=object),
            "mapped_value": np.asarray(mapped_value, dtype=object),
        }
    )


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
    """`frame` (a fresh selection) with a 0..n-1 index, set in place: reset_index would copy it again."""
    frame.index = pd.RangeIndex(len(frame))
    return frame

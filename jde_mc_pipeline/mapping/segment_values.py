"""The segment fields' values per party (mapping/segments.py), as columns of the party frame.

Each segment field adds two columns: `segment_code:<label>`, the code as JDE holds it (trimmed, "" when
blank), and `segment:<label>`, what is sent: the UDC description (jde/udc.py put it in the frames as
`<alias>_DL01`; None when F0005 has no row for the code, and the payload then falls back to the code) or
the code itself. F03012 holds one row per company: the default line of business (CO 00000) wins, then
the lowest company.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.jde.udc import description_column
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.segments import SegmentField

VALUE_PREFIX = "segment:"
CODE_PREFIX = "segment_code:"


def value_column(segment: SegmentField) -> str:
    return VALUE_PREFIX + segment.label


def code_column(segment: SegmentField) -> str:
    return CODE_PREFIX + segment.label


def segment_columns(
    frames: dict[str, pd.DataFrame], options: MappingOptions, an8: np.ndarray
) -> dict[str, np.ndarray]:
    """The two columns of every segment field for the parties `an8` (module doc)."""
    columns: dict[str, np.ndarray] = {}
    for segment in options.segment_fields:
        rows = _one_row_per_an8(frames[segment.table], segment.table)
        position = pd.Index(rows["AN8"].to_numpy(dtype=np.int64)).get_indexer(an8)
        found = position >= 0
        take = np.maximum(position, 0)
        raw = rows[segment.alias] if len(rows) else pd.Series([], dtype=object)
        codes = raw.astype(object).where(raw.notna(), "").astype(str).str.strip().to_numpy(dtype=object)
        code = np.where(found, codes[take] if len(codes) else "", "").astype(object)
        if segment.value == "code":
            value = code
        else:
            name = description_column(segment.alias)
            if name not in rows.columns:
                raise KeyError(
                    f"segment field {segment.column}: the frames carry no UDC descriptions ({name}); "
                    "read them with jde/udc.py add_descriptions"
                )
            texts = rows[name].to_numpy(dtype=object)
            value = np.where(found & (code != ""), texts[take] if len(texts) else None, "").astype(object)
        columns[code_column(segment)] = code
        columns[value_column(segment)] = value
    return columns


def _one_row_per_an8(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """F0101 as it is; F03012's default line of business (CO 00000) first, else the lowest company."""
    if table != "F03012" or not len(frame):
        return frame.drop_duplicates("AN8") if frame["AN8"].duplicated().any() else frame
    company = frame["CO"].astype(str).str.strip()
    order = pd.DataFrame({"an8": frame["AN8"], "default": company != "00000", "co": company})
    first = order.sort_values(["an8", "default", "co"], kind="stable").drop_duplicates("an8").index
    return frame.loc[first]

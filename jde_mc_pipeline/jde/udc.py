"""User-defined code descriptions (F0005) for the code columns the segment fields send as descriptions.

Why read once per run and per code list, beside the extraction: a UDC list is small (tens of codes) and
shared by every party, so one BROWSE of F0005 per (product code SY, code type RT) per run is enough, and
the descriptions are then added to the extracted frames as one more column per code column
(`<alias>_DL01`, e.g. `AC02_DL01`). The frames then carry everything the mapping needs: the mapping stays
a function of its frames (a re-execution of the mapping step maps the same thing), and `jde_pulls` keeps
the description the run sent next to the code.

KY is 10 characters in F0005 and a short code is stored right-justified (`       WES`) while the column
that uses it holds `WES` left-justified, so both are compared trimmed on both sides. A code that has no
UDC row gets no description (None): the mapping then sends the code itself, with a `udc_missing` event.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.query import Condition, Query

UdcKey = tuple[str, str]
"""(SY, RT): `("01", "02")` is address-book category code 02."""
NeededColumn = tuple[str, str, str, str]
"""(table, alias, SY, RT): a code column whose descriptions the mapping needs."""


def description_column(alias: str) -> str:
    """The frame column holding the UDC description of a code column (`AC02` → `AC02_DL01`)."""
    return f"{alias}_DL01"


def read_udc(client: AisClient, keys: Iterable[UdcKey]) -> dict[UdcKey, dict[str, str]]:
    """Code → description of each UDC list, one F0005 read per distinct (SY, RT)."""
    found: dict[UdcKey, dict[str, str]] = {}
    for sy, rt in dict.fromkeys(keys):
        where = Query.all_of(Condition("SY", "EQUAL", (sy,)), Condition("RT", "EQUAL", (rt,)))
        frame = client.browse("F0005", where, ["SY", "RT", "KY", "DL01"])
        found[(sy, rt)] = {
            str(code).strip(): str(text or "").strip()
            for code, text in zip(frame["KY"], frame["DL01"], strict=True)
            if isinstance(code, str) and code.strip()
        }
    return found


def add_descriptions(
    client: AisClient, frames: dict[str, pd.DataFrame], needed: Iterable[NeededColumn]
) -> dict[str, pd.DataFrame]:
    """The frames with a `<alias>_DL01` column for each needed code column (module doc); the input
    frames are not changed. Nothing is read when nothing is needed."""
    needed = tuple(dict.fromkeys(needed))
    if not needed:
        return frames
    lists = read_udc(client, ((sy, rt) for _, _, sy, rt in needed))
    described = dict(frames)
    for name, alias, sy, rt in needed:
        frame = described[name]
        codes = frame[alias].astype(object).where(frame[alias].notna(), "").astype(str).str.strip()
        texts = codes.map(lists[(sy, rt)]).astype(object)
        described[name] = frame.assign(**{description_column(alias): texts.where(texts.notna(), None)})
    return described

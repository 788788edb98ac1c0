"""Several AN8s sharing one e-mail become one record (docs/mapping.md).

The holder is the AN8 with the latest `updated_at` (NaT = never, so last), ties to the lowest AN8. It
supplies the merge fields and holds the customer record; the group's roles are united for the tags; the
others get `merged` with the holder's AN8. Done with one lexsort over (e-mail, -updated_at, AN8).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def fold_by_email(parties: pd.DataFrame, role_columns: list[str]) -> pd.DataFrame:
    """Adds `holder` (the AN8 holding the record), `group_size`, `an8_text`, `group_an8s` and
    `group_<role>` columns.

    `group_an8s` is the sorted AN8s sharing the e-mail, as text joined by "," ("4242" for most parties).
    """
    if parties.empty:
        empty = parties.assign(holder=np.int64(0), group_size=np.int64(0), an8_text="", group_an8s="")
        return empty.assign(**{f"group_{role}": False for role in role_columns})
    codes, _ = pd.factorize(parties["email"], sort=False)
    stamps = parties["updated_at"]
    stamp_ns = (
        stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[ns]").view(np.int64)
    )
    never = stamps.isna().to_numpy()
    recency = np.where(never, np.iinfo(np.int64).max, -stamp_ns)
    an8 = parties["an8"].to_numpy(dtype=np.int64)
    order = np.lexsort((an8, recency, codes))
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    holder_by_code = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    holder_by_code[sorted_codes[starts]] = an8[order[starts]]
    size_by_code = np.zeros_like(holder_by_code)
    size_by_code[sorted_codes[starts]] = sizes
    result = parties.copy(deep=False)
    result["holder"] = holder_by_code[codes]
    result["group_size"] = size_by_code[codes]
    for role in role_columns:
        any_role = pd.Series(parties[role].to_numpy(dtype=bool)).groupby(codes).transform("any")
        result[f"group_{role}"] = any_role.to_numpy(dtype=bool)
    result["an8_text"] = result["an8"].astype(str).astype(object)  # key and JDEAN8: made once
    result["group_an8s"] = result["an8_text"]
    shared = result["group_size"].to_numpy() > 1
    if shared.any():
        many = result.loc[shared, ["an8", "holder"]].sort_values("an8")
        joined = many.groupby("holder")["an8"].agg(lambda an8s: ",".join(map(str, an8s)))
        result.loc[shared, "group_an8s"] = result.loc[shared, "holder"].map(joined).to_numpy()
    return result

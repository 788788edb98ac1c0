"""The party's phone (docs/mapping.md): F0115 IDLN 0, preferred PHTP order, lowest RCK7 within a type.

Rank = position of PHTP in `phone_type_preference`; every other type ranks after them all (and competes
on RCK7 alone); `excluded_phone_types` (FAX) never count. A row whose PH1 is blank is no phone: an area
code alone cannot be dialled. The value is `AR1 PH1` with runs of white space collapsed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.text import collapse_whitespace


def choose_phones(f0115: pd.DataFrame, options: MappingOptions) -> pd.DataFrame:
    """Per AN8 with a usable phone row: `phone` and `phone_source` (`AR1|PH1|PHTP` as JDE holds them)."""
    phtp = f0115["PHTP"].str.upper()
    excluded = [t.upper() for t in options.excluded_phone_types]
    usable = (f0115["IDLN"] == 0) & (f0115["PH1"] != "") & ~phtp.isin(excluded)
    rows = f0115.loc[usable, ["AN8", "RCK7", "PHTP", "AR1", "PH1"]]
    preference = [t.upper() for t in options.phone_type_preference]
    rank = phtp[rows.index].map({t: i for i, t in enumerate(preference)}).fillna(len(preference))
    ordered = pd.DataFrame(
        {
            "an8": rows["AN8"].to_numpy(dtype=np.int64),
            "rank": rank.to_numpy(dtype=np.int64),
            "rck7": rows["RCK7"].fillna(0).to_numpy(dtype=np.int64),
            "row": np.arange(len(rows)),
        }
    ).sort_values(["an8", "rank", "rck7"], kind="stable")
    chosen = rows.iloc[ordered.drop_duplicates("an8")["row"].to_numpy()]
    return pd.DataFrame(
        {
            "an8": chosen["AN8"].to_numpy(dtype=np.int64),
            "phone": collapse_whitespace(chosen["AR1"] + " " + chosen["PH1"]).to_numpy(),
            "phone_source": (chosen["AR1"] + "|" + chosen["PH1"] + "|" + chosen["PHTP"]).to_numpy(),
        }
    )

"""The mapping step's WARN checks: the JDE rows' contracts and the share of quarantined parties.

Why computed inside the step (declared as `AssetCheckSpec`s, evaluated by `*_result`): a check step of its
own would have to load the multi-partition frames again.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from jde_mc_pipeline.defs.metadata import numbers, sample
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.mapping.outcomes import QUARANTINED, family

SCHEMA_VALID = "schema_valid"
QUARANTINE_RATE = "quarantine_rate"


def schema_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SCHEMA_VALID,
        asset=asset,
        description="Every JDE row pulled matches its pandera contract (rows that do not are quarantined "
        "with their party; the frame's structure failing fails the step instead).",
    )


def quarantine_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_RATE,
        asset=asset,
        description="Share of pulled (party × target) pairs quarantined (no or invalid e-mail, invalid "
        "row) stays under JDE_MC_MAX_QUARANTINE_RATE.",
    )


def schema_result(asset: dg.AssetKey, failures: pd.DataFrame, rows_pulled: int) -> dg.AssetCheckResult:
    """Row-level contract failures of the pulled JDE rows (`MappingResult.failures`)."""
    per_table = failures.groupby("table").size() if len(failures) else pd.Series(dtype=int)
    parties = int(failures.loc[failures["an8"].fillna(0) > 0, "an8"].nunique())
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=SCHEMA_VALID,
        passed=failures.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **numbers(
                {"rows_pulled": rows_pulled, "failures": len(failures), "parties_quarantined": parties}
            ),
            "failures_per_table": dg.MetadataValue.json({str(k): int(v) for k, v in per_table.items()}),
            "sample": sample(failures),
        },
    )


def quarantine_result(
    asset: dg.AssetKey, decided: pd.DataFrame, pulled_parties: int, threshold: float
) -> dg.AssetCheckResult:
    """Quarantined outcomes among every pulled (party × target) pair."""
    quarantined = decided.loc[decided["outcome"].map(family) == QUARANTINED]
    pairs = pulled_parties * len(TARGETS)
    rate = len(quarantined) / pairs if pairs else 0.0
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=QUARANTINE_RATE,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **numbers({"rate": round(rate, 4), "threshold": threshold, QUARANTINED: len(quarantined)}),
            "pairs": pairs,
        },
    )

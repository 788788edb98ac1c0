"""The drift report's check: WARN when one run finds more new drift than `JDE_MC_DRIFT_WARN_FINDINGS`.

Why a warning and not a failure: drift is what marketers do in Mailchimp, not a fault of the run; many
findings at once (a mass unsubscribe, an import that overwrote merge fields) deserve a look.
"""

import dagster as dg

from jde_mc_pipeline.defs.metadata import numbers

DRIFT_FINDINGS = "drift_findings_under_threshold"


def drift_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        DRIFT_FINDINGS,
        asset=asset,
        description="New drift findings of one run stay at or under JDE_MC_DRIFT_WARN_FINDINGS.",
    )


def drift_result(asset: dg.AssetKey, found: int, threshold: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=DRIFT_FINDINGS,
        passed=found <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=numbers({"new_findings": found, "threshold": threshold}),
    )

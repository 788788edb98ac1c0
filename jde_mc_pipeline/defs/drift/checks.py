"""The drift report's check: WARN when one run finds more new drift than `JDE_MC_DRIFT_WARN_FINDINGS`.

Why a warning and not a failure: drift is what marketers do in Mailchimp, not a fault of the run; many
findings at once (a mass unsubscribe, an import that overwrote merge fields) deserve a look.

Why a check of its own, counting the run's findings in the audit, rather than a result of the asset:
the asset steps aside in a run that also syncs (assets.py), and a check it would then owe could not be
given; a separate check is skipped with the asset it checks.
"""

import dagster as dg

from jde_mc_pipeline.defs.metadata import numbers
from jde_mc_pipeline.defs.resources import AuditStoreResource

DRIFT_FINDINGS = "drift_findings_under_threshold"


def build_drift_check(asset: dg.AssetKey, threshold: int) -> dg.AssetChecksDefinition:
    """The check of `asset`, warning above `threshold` new findings in the run."""

    @dg.asset_check(
        asset=asset,
        name=DRIFT_FINDINGS,
        description="New drift findings of one run stay at or under JDE_MC_DRIFT_WARN_FINDINGS.",
    )
    def drift_findings_under_threshold(
        context: dg.AssetCheckExecutionContext, audit: AuditStoreResource
    ) -> dg.AssetCheckResult:
        counted = audit.store(read_only=True).query(
            "SELECT count(*) AS n FROM drift_findings WHERE run_id = ?", [context.run.run_id]
        )
        found = int(counted["n"].iloc[0])
        return dg.AssetCheckResult(
            passed=found <= threshold,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=numbers({"new_findings": found, "threshold": threshold}),
        )

    return drift_findings_under_threshold

"""The Mailchimp steps' checks: the share of refused or failed writes (WARN, computed in the step) and the
reconciliation (ERROR, blocking, a check step of its own).

Why the reconciliation reads the audit store and not the frames: it compares what the run *pulled*
(`jde_pulls`, and `jde_deleted`: parties asked for that JDE no longer holds) with what it *recorded*
(`sync_outcomes`), two independent records, so a lost or doubled outcome anywhere between extraction and
recording shows. It is blocking, so a failure fails the run, and the check closes the run's row in
`sync_runs` as `failed`. Its config `run_id` checks another run (default: this one), which is also how a
person re-checks an old run from the Launchpad.
"""

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.store import RUN_FAILED
from jde_mc_pipeline.defs.jde.assets import EXTRACT_STEP
from jde_mc_pipeline.defs.metadata import counts_of, numbers, sample
from jde_mc_pipeline.defs.resources import AuditStoreResource
from jde_mc_pipeline.mapping.outcomes import FAILED, REJECTED_PREFIX
from jde_mc_pipeline.sync.stages import close_run
from jde_mc_pipeline.sync.writes import reconcile

REJECTION_RATE = "rejection_rate"
RECONCILIATION = "reconciliation"


def rejection_spec(asset: dg.AssetKey) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        REJECTION_RATE,
        asset=asset,
        description="Share of records sent to Mailchimp that were rejected or failed stays under "
        "JDE_MC_MAX_REJECTION_RATE.",
    )


def rejection_result(asset: dg.AssetKey, pushed: pd.DataFrame, threshold: float) -> dg.AssetCheckResult:
    """Rejected or failed writes among the records sent in this step."""
    bad = pushed["outcome"].str.startswith(REJECTED_PREFIX) | (pushed["outcome"] == FAILED)
    rate = float(bad.mean()) if len(pushed) else 0.0
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=REJECTION_RATE,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            **numbers({"rate": round(rate, 4), "threshold": threshold, "sent": len(pushed)}),
            "rejected_or_failed": int(bad.sum()),
            "per_outcome": dg.MetadataValue.json(counts_of(pushed.loc[bad], ["outcome"])),
        },
    )


class ReconciliationConfig(dg.Config):
    run_id: str | None = None
    """The run to reconcile; default: the run this check executes in."""


def extracting_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The run whose extract step pulled the parties run `run` wrote: the run itself, or, for a
    re-execution that did not extract again (a run retry after a crash is "from failure": only the
    Mailchimp steps run again, on the frames the parent staged), its nearest ancestor that did."""
    current = run
    while current.parent_run_id is not None and not _extracted(instance, current.run_id):
        parent = instance.get_run_by_id(current.parent_run_id)
        if parent is None:  # deleted from the instance: nothing older to look at
            break
        current = parent
    return current.run_id


def _extracted(instance: dg.DagsterInstance, run_id: str) -> bool:
    return any(
        record.dagster_event is not None and record.dagster_event.step_key == EXTRACT_STEP
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    )


def reconciliation_result(
    store: AnyAuditStore, run_id: str, target: str, asset: dg.AssetKey, pulled_in: str | None = None
) -> dg.AssetCheckResult:
    """Every party pulled (in run `pulled_in`, by default the run itself) has exactly one outcome for
    `target` recorded by run `run_id`."""
    pulls_of = pulled_in or run_id
    pulled = store.query(
        "SELECT an8 FROM jde_pulls WHERE run_id = ? AND an8 > 0 "
        "UNION SELECT an8 FROM jde_deleted WHERE run_id = ? ORDER BY an8",
        [pulls_of, pulls_of],
    )["an8"]
    outcomes = store.query(
        "SELECT an8, target, outcome FROM sync_outcomes WHERE run_id = ? AND target = ?", [run_id, target]
    )
    result = reconcile(pulled.astype("int64").to_numpy(), outcomes, [target])
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=RECONCILIATION,
        passed=result.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "run_id": run_id,
            "pulled_in_run": pulls_of,
            "target": target,
            **numbers(
                {
                    "parties_pulled": len(pulled),
                    "outcomes_recorded": len(outcomes),
                    "missing": len(result.missing),
                    "duplicated": len(result.duplicated),
                    "unexpected": len(result.unexpected),
                }
            ),
            "missing_sample": sample(result.missing),
            "duplicated_sample": sample(result.duplicated),
        },
    )


def build_reconciliation_check(target: str, asset: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The blocking reconciliation check of one target's sync asset (module doc)."""

    @dg.asset_check(
        asset=asset,
        name=RECONCILIATION,
        blocking=True,
        description=f"Every party pulled in the run has exactly one {target} outcome in the audit store "
        "(jde_pulls vs sync_outcomes of the run). Fails the run when not.",
    )
    def check(
        context: dg.AssetCheckExecutionContext, config: ReconciliationConfig, audit: AuditStoreResource
    ) -> dg.AssetCheckResult:
        run = context.run if config.run_id is None else context.instance.get_run_by_id(config.run_id)
        if run is None:
            raise dg.Failure(f"no run {config.run_id} in this Dagster instance")
        pulled_in = extracting_run(context.instance, run)
        result = reconciliation_result(audit.store(), run.run_id, target, asset, pulled_in)
        if not result.passed and config.run_id is None:
            close_run(audit.store(), context.run.run_id, RUN_FAILED)  # the run fails: the audit says so
        return result

    return check

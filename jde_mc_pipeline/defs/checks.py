"""Asset checks: schema validity, quarantine rate, Mailchimp rejection rate (WARN) and reconciliation
(ERROR, blocking).

Why two kinds: the WARN checks are computed inside the steps that hold the frames (declared here as
`AssetCheckSpec`s, evaluated by `*_result` functions the assets call), because a check step of its own
would have to load a multi-partition input again. The reconciliation check is a check step of its own
that reads the audit store, not the frames: it compares what the run *pulled* (`jde_pulls`) with what
it *recorded* (`sync_outcomes`), two independent records, so a lost or doubled outcome anywhere between
extraction and recording shows. It is blocking, so a failure fails the run (and the run's row in
`sync_runs` says `failed`). Its config `run_id` checks another run (default: this one), which is also
how a person re-checks an old run from the launchpad.

Thresholds: `JDE_MC_MAX_QUARANTINE_RATE` (default 0.10: a real address book has a few
per cent of parties without a usable e-mail) and `JDE_MC_MAX_REJECTION_RATE` (default 0.05), see
`SyncSettingsResource`.
"""

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.resources import AuditStoreResource
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS
from jde_mc_pipeline.mapping.outcomes import FAILED, REJECTED_PREFIX
from jde_mc_pipeline.sync.pipeline import Reconciliation, reconcile

MEMBER_SYNC_KEY = dg.AssetKey("mailchimp_list_member_sync")
CUSTOMER_SYNC_KEY = dg.AssetKey("mailchimp_ecommerce_customer_sync")
SYNC_KEYS = {LIST_MEMBER: MEMBER_SYNC_KEY, ECOMMERCE_CUSTOMER: CUSTOMER_SYNC_KEY}

SCHEMA_VALID = "schema_valid"
QUARANTINE_RATE = "quarantine_rate"
REJECTION_RATE = "rejection_rate"
RECONCILIATION = "reconciliation"
QUARANTINED_PREFIX = "quarantined:"
SAMPLE_ROWS = 10


def schema_spec(asset: dg.AssetKey | str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SCHEMA_VALID,
        asset=asset,
        description="Every JDE row pulled matches its pandera contract (rows that do not are quarantined "
        "with their party; the frame's structure failing fails the step instead).",
    )


def quarantine_spec(asset: dg.AssetKey | str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        QUARANTINE_RATE,
        asset=asset,
        description="Share of pulled (party × target) pairs quarantined (no or invalid e-mail, invalid "
        "row) stays under JDE_MC_MAX_QUARANTINE_RATE.",
    )


def rejection_spec(asset: dg.AssetKey | str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        REJECTION_RATE,
        asset=asset,
        description="Share of records sent to Mailchimp that were rejected or failed stays under "
        "JDE_MC_MAX_REJECTION_RATE.",
    )


def schema_result(asset: dg.AssetKey, failures: pd.DataFrame, rows_pulled: int) -> dg.AssetCheckResult:
    """Row-level contract failures of the pulled JDE rows (`MappingResult.failures`)."""
    per_table = failures.groupby("table").size() if len(failures) else pd.Series(dtype=int)
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=SCHEMA_VALID,
        passed=failures.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rows_pulled": rows_pulled,
            "failures": len(failures),
            "parties_quarantined": int(failures.loc[failures["an8"].fillna(0) > 0, "an8"].nunique()),
            "failures_per_table": dg.MetadataValue.json({str(k): int(v) for k, v in per_table.items()}),
            "sample": dg.MetadataValue.md(sample(failures)),
        },
    )


def quarantine_result(
    asset: dg.AssetKey, decided: pd.DataFrame, pulled_parties: int, threshold: float
) -> dg.AssetCheckResult:
    """Quarantined outcomes among every pulled (party × target) pair."""
    quarantined = decided.loc[decided["outcome"].str.startswith(QUARANTINED_PREFIX)]
    pairs = pulled_parties * len(TARGETS)
    rate = len(quarantined) / pairs if pairs else 0.0
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name=QUARANTINE_RATE,
        passed=rate <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rate": round(rate, 4),
            "threshold": threshold,
            "quarantined": len(quarantined),
            "pairs": pairs,
            "per_outcome": dg.MetadataValue.json(counts_of(quarantined, ["target", "outcome"])),
        },
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
            "rate": round(rate, 4),
            "threshold": threshold,
            "sent": len(pushed),
            "rejected_or_failed": int(bad.sum()),
            "per_outcome": dg.MetadataValue.json(counts_of(pushed.loc[bad], ["outcome"])),
        },
    )


# -- reconciliation (a check step of its own, over the audit store) -------------------------------------


class ReconciliationConfig(dg.Config):
    run_id: str | None = None
    """The run to reconcile; default: the run this check executes in."""


def pulled_an8s(store: AuditStore, run_id: str) -> pd.Series:
    """The parties a run pulled from JDE (`jde_pulls`)."""
    with store.connect() as conn:
        frame = conn.execute(
            "SELECT DISTINCT an8 FROM jde_pulls WHERE run_id = ? AND an8 > 0 ORDER BY an8", [run_id]
        ).fetchdf()
    return frame["an8"].astype("int64")


def recorded_outcomes(store: AuditStore, run_id: str, target: str | None = None) -> pd.DataFrame:
    """A run's rows of `sync_outcomes` (one target or all): an8, target, outcome, partition_key."""
    where, params = (
        ("run_id = ?", [run_id]) if target is None else ("run_id = ? AND target = ?", [run_id, target])
    )
    with store.connect() as conn:
        return conn.execute(
            "SELECT an8, target, outcome, partition_key FROM sync_outcomes "
            f"WHERE {where} ORDER BY an8, target",
            params,
        ).fetchdf()


def run_outcome_counts(store: AuditStore, run_id: str) -> dict[str, int]:
    """`<target>:<outcome>` → rows, for the run's row in `sync_runs`."""
    outcomes = recorded_outcomes(store, run_id)
    return {f"{t}:{o}": n for (t, o), n in outcomes.groupby(["target", "outcome"]).size().items()}


def reconciliation_result(store: AuditStore, run_id: str, target: str) -> dg.AssetCheckResult:
    """Every party the run pulled has exactly one recorded outcome for `target`."""
    pulled = pulled_an8s(store, run_id)
    outcomes = recorded_outcomes(store, run_id, target)
    result: Reconciliation = reconcile(pulled.to_numpy(), outcomes, [target])
    return dg.AssetCheckResult(
        asset_key=SYNC_KEYS[target],
        check_name=RECONCILIATION,
        passed=result.ok,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "run_id": run_id,
            "target": target,
            "parties_pulled": len(pulled),
            "outcomes_recorded": len(outcomes),
            "missing": len(result.missing),
            "duplicated": len(result.duplicated),
            "unexpected": len(result.unexpected),
            "missing_sample": dg.MetadataValue.md(sample(result.missing)),
            "duplicated_sample": dg.MetadataValue.md(sample(result.duplicated)),
        },
    )


def _reconciliation_check(target: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=SYNC_KEYS[target],
        name=RECONCILIATION,
        blocking=True,
        description=f"Every party pulled in the run has exactly one {target} outcome in the audit store "
        "(jde_pulls vs sync_outcomes of the run). Fails the run when not.",
    )
    def check(
        context: dg.AssetCheckExecutionContext, config: ReconciliationConfig, audit: AuditStoreResource
    ) -> dg.AssetCheckResult:
        return reconciliation_result(audit.store(), config.run_id or context.run.run_id, target)

    return check


member_reconciliation = _reconciliation_check(LIST_MEMBER)
customer_reconciliation = _reconciliation_check(ECOMMERCE_CUSTOMER)
RECONCILIATION_CHECKS = [member_reconciliation, customer_reconciliation]


def counts_of(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    if frame.empty:
        return {}
    return {
        ":".join(map(str, k if isinstance(k, tuple) else (k,))): int(v)
        for k, v in frame.groupby(columns).size().items()
    }


def sample(frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> str:
    """A markdown table of the first rows (`_none_` when empty)."""
    return "_none_" if frame.empty else frame.head(rows).to_markdown(index=False)

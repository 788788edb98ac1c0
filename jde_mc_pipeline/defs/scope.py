"""The job `jde_scope_reconciliation` and its nightly schedule: parties that left JDE without a trace.

JDE keeps no delete trail, so the incremental sync never sees a deleted party, nor a role lost by
deleting a customer-master row (sync/scope.py). This job compares the AN8s in scope in JDE (one cheap
read of keys) with the AN8s of the synced state, then syncs what differs through the same functions as
the sync job (`run_sync`): deleted parties end `left_scope:deleted_in_jde`, parties without a role
`left_scope:no_role`, each with the `JDE_MC_ON_LEAVE` action; lost roles set their tags inactive. It
records its own run in `sync_runs` (job `jde_scope_reconciliation`) and its outcomes in
`sync_outcomes` (no partition), and fails when a party it looked at has not exactly one outcome per
target.

It is an op job, not an asset: it corrects Mailchimp for parties of any partition and produces no new
data set. Its op is in the `mailchimp` pool, so it never adds to the connections of a running sync.
The schedule `jde_scope_reconciliation_schedule` runs it every night (`JDE_MC_RECONCILIATION_CRON`,
default 02:30 in JDE's time zone); like the others it starts stopped unless `JDE_MC_AUTOMATION=running`.
"""

import os

import dagster as dg

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.automation import TRIGGER_TAG, automation_running
from jde_mc_pipeline.defs.checks import sample
from jde_mc_pipeline.defs.partitions import JDE_TIMEZONE
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.sync.run import run_sync
from jde_mc_pipeline.sync.scope import scope_changes

SCOPE_JOB = "jde_scope_reconciliation"
RECONCILIATION_CRON = (os.environ.get("JDE_MC_RECONCILIATION_CRON") or "").strip() or "30 2 * * *"


@dg.op(
    pool=MAILCHIMP_POOL,
    out=dg.Out(dg.Nothing),
    description="Compares the AN8s in scope in JDE with the synced state and syncs the parties that left "
    "scope or lost a role without a JDE change stamp (deleted rows).",
)
def reconcile_jde_scope(
    context: dg.OpExecutionContext,
    jde: JdeAisResource,
    mailchimp: MailchimpResource,
    audit: AuditStoreResource,
    sync_settings: SyncSettingsResource,
) -> dg.Output[None]:
    store, settings = audit.store(), sync_settings.settings()
    with jde.client() as ais:
        found = scope_changes(ais, DuckDBSyncedState(store), settings.mapping)
    context.log.info(
        f"{found.in_jde} address-book rows in JDE, {found.synced} AN8s in the synced state: "
        f"{len(found.deleted)} deleted in JDE, {len(found.drifted)} with roles that changed"
    )
    with mailchimp.client() as client:
        report = run_sync(
            found.frames,
            client,
            store,
            settings,
            run_id=context.run_id,
            deleted=found.deleted.tolist(),
            job=SCOPE_JOB,
        )
    if not report.reconciliation.ok:
        raise dg.Failure(f"scope reconciliation: {report.reconciliation.describe()}")
    outcomes = report.outcomes
    return dg.Output(
        None,
        metadata={
            "parties_in_jde": found.in_jde,
            "parties_synced_before": found.synced,
            "deleted_in_jde": len(found.deleted),
            "roles_changed": len(found.drifted),
            "parties_looked_at": len(report.result.pulled),
            **{f"{k.replace(':', '_')}": v for k, v in sorted(report.counts.items())},
            "sample": dg.MetadataValue.md(
                sample(
                    outcomes.loc[outcomes["outcome"] != "unchanged", ["an8", "target", "outcome", "reason"]]
                )
            ),
        },
    )


@dg.job(
    name=SCOPE_JOB,
    description="Finds parties deleted in JDE or without a role (no JDE change stamp shows them) and applies "
    "JDE_MC_ON_LEAVE to their Mailchimp records; lost roles set their tags inactive.",
    tags={"jde_mc/target": "mailchimp"},
)
def jde_scope_reconciliation() -> None:
    reconcile_jde_scope()


jde_scope_reconciliation_schedule = dg.ScheduleDefinition(
    name="jde_scope_reconciliation_schedule",
    job=jde_scope_reconciliation,
    cron_schedule=RECONCILIATION_CRON,
    execution_timezone=JDE_TIMEZONE,
    tags={TRIGGER_TAG: "reconciliation"},
    default_status=dg.DefaultScheduleStatus.RUNNING
    if automation_running()
    else dg.DefaultScheduleStatus.STOPPED,
    description="Runs jde_scope_reconciliation every night (JDE_MC_RECONCILIATION_CRON).",
)

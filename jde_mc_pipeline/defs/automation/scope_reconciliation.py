"""The job `jde_scope_reconciliation`: parties that left JDE without a trace (sync/scope.py).

JDE keeps no delete trail, so the incremental sync never sees a deleted party, nor a role lost by
deleting a customer-master row. This job compares the AN8s in scope in JDE (one cheap read of keys) with
the AN8s of the synced state the audit holds, then runs every stage of a sync over what differs
(`sync/stages.py sync_batch`, the same functions the sync's assets call): deleted parties end
`left_scope:deleted_in_jde`, parties without a role `left_scope:no_role`, each with the `on_leave`
action; lost roles set their tags inactive. It records its own run in `sync_runs` (job
`jde_scope_reconciliation`) and its outcomes in `sync_outcomes` (no partition), and fails when a party
it looked at has not exactly one outcome per target.

It is an op job, not an asset: it corrects Mailchimp for parties of any partition and produces no new
data set. Its op is in the `mailchimp` pool, so it never adds to the connections of a running sync. Its
nightly schedule is with the others (schedules.py).
"""

import dagster as dg

from jde_mc_pipeline.audit.backends import synced_state
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.automation.jobs import SCOPE_JOB
from jde_mc_pipeline.defs.metadata import numbers, sample
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.mapping.outcomes import UNCHANGED
from jde_mc_pipeline.settings.connector import settings_for
from jde_mc_pipeline.sync.scope import scope_changes
from jde_mc_pipeline.sync.stages import sync_batch


def build_scope_job() -> dg.JobDefinition:
    """The reconciliation op in the `mailchimp` pool and its one-op job (module doc)."""

    @dg.op(
        pool=MAILCHIMP_POOL,
        out=dg.Out(dg.Nothing),
        description="Compares the AN8s in scope in JDE with the synced state and syncs the parties that "
        "left scope or lost a role without a JDE change stamp (deleted rows).",
    )
    def reconcile_jde_scope(
        context: dg.OpExecutionContext,
        jde: JdeAisResource,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.Output[None]:
        store = audit.store()
        settings = settings_for(sync_settings, mailchimp, jde.timezone)
        with jde.client() as ais:
            found = scope_changes(ais, synced_state(store), settings.mapping)
        context.log.info(
            f"{found.in_jde} address-book rows in JDE, {found.synced} AN8s in the synced state: "
            f"{len(found.deleted)} deleted in JDE, {len(found.drifted)} with roles that changed"
        )
        with mailchimp.client() as client:
            report = sync_batch(
                found.frames, client, store, settings, run_id=context.run_id, job=SCOPE_JOB,
                deleted=found.deleted.tolist(), keep_raw_days=audit.keep_raw_days,
            )  # fmt: skip
        if not report.reconciliation.ok:
            raise dg.Failure(f"scope reconciliation: {report.reconciliation.describe()}")
        outcomes = report.outcomes
        changed = outcomes.loc[outcomes["outcome"] != UNCHANGED, ["an8", "target", "outcome", "reason"]]
        return dg.Output(
            None,
            metadata={
                **numbers(
                    {
                        "parties_in_jde": found.in_jde,
                        "parties_synced_before": found.synced,
                        "deleted_in_jde": len(found.deleted),
                        "roles_changed": len(found.drifted),
                        "parties_looked_at": len(report.result.pulled),
                    }
                ),
                **numbers({k.replace(":", "_"): v for k, v in sorted(report.counts.items())}),
                "sample": sample(changed),
            },
        )

    @dg.job(
        name=SCOPE_JOB,
        description="Finds parties deleted in JDE or without a role (no JDE change stamp shows them) and "
        "applies JDE_MC_ON_LEAVE to their Mailchimp records; lost roles set their tags inactive.",
        tags={"jde_mc/target": "mailchimp"},
    )
    def jde_scope_reconciliation() -> None:
        reconcile_jde_scope()

    return jde_scope_reconciliation

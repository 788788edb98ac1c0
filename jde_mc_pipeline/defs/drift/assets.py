"""`mailchimp_drift`: reads Mailchimp back and records what changed there since the sync (sync/drift.py)
in `drift_findings`; not partitioned (it reads the audience as it is now), its own schedule, and
materializable on demand from the UI.

The run opens its row in `sync_runs` (job `mailchimp_drift`, whichever Dagster job ran it: the schedule's
`mailchimp_drift_job` or the UI's asset job) with the `since_last_changed` it reads from
and the watermark it leaves for the next run (audit/drift.py), and closes it `succeeded` with its counts;
a run that raises is closed `failed`, and its watermark is never used. Selected in a run that also
syncs (`--select '*'` over a range, "Materialize all"), it reads nothing: that run's row in `sync_runs`
is the sync's, and the report runs on its own schedule or job (as `mailchimp_dry_run` steps aside too).
Only GETs are sent, through the Mailchimp client's process-wide connection cap, in the `mailchimp` pool
(one Mailchimp step at a time).
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg

from jde_mc_pipeline.audit.drift import DRIFT_JOB, last_mark, record_findings
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.drift.settings import DriftSettings
from jde_mc_pipeline.defs.mailchimp.assets import SYNC_KEYS
from jde_mc_pipeline.defs.metadata import OWNERS, numbers, sample
from jde_mc_pipeline.defs.resources import AuditStoreResource, MailchimpResource, SyncSettingsResource
from jde_mc_pipeline.settings.connector import settings_for
from jde_mc_pipeline.sync.drift import find_drift

DRIFT_KEY = dg.AssetKey("mailchimp_drift")
DRIFT_GROUP = "drift"


def build_drift_asset(drift: DriftSettings) -> dg.AssetsDefinition:
    """The drift asset, with the threshold and clock skew of `drift`."""

    @dg.asset(
        key=DRIFT_KEY,
        pool=MAILCHIMP_POOL,
        group_name=DRIFT_GROUP,
        kinds={"mailchimp"},
        owners=OWNERS,
        tags={"system": "mailchimp"},
        output_required=False,
        # not partitioned: the policy only lets `dagster asset materialize --select '*' --partition-range`
        # (the README's range example) accept it beside the partitioned assets, as one run it steps aside in
        backfill_policy=dg.BackfillPolicy.single_run(),
        description="What changed in Mailchimp since the sync wrote it (unsubscribed, cleaned, pending, "
        "archived, deleted, owned merge fields or tags edited by hand, customers missing), each finding "
        "recorded once in the audit's drift_findings.",
    )
    def mailchimp_drift(
        context: dg.AssetExecutionContext,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ) -> Iterator[dg.MaterializeResult]:
        selected = context.run.asset_selection or context.job_def.asset_layer.selected_asset_keys
        if any(key in selected for key in SYNC_KEYS):
            context.log.info("not read: this run writes to Mailchimp; run mailchimp_drift_job for the report")
            return
        run_id = context.run.run_id
        settings = settings_for(sync_settings, mailchimp, "UTC")
        with audit.closing_run(run_id) as store:
            previous = last_mark(store)
            watermark = datetime.now(UTC) - timedelta(seconds=drift.clock_skew_seconds)
            store.start_run(run_id, DRIFT_JOB, window=(previous.watermark, watermark))  # type: ignore[arg-type]
            began = time.perf_counter()
            with mailchimp.client() as client:
                report = find_drift(client, store, settings, previous, watermark)
                requests = dict(client.stats)
            seconds = time.perf_counter() - began
            recorded = record_findings(store, run_id, report.findings, resend=settings.resend_drifted)
            counts = report.counts()
            store.finish_run(run_id, RUN_SUCCEEDED, {**counts, **report.mark.counts})
            read_from = "the whole audience" if previous.watermark is None else f"since {previous.watermark}"
            context.log.info(
                f"drift over {read_from}: {report.members_read:,} members read, "
                f"full reads: {', '.join(report.scans) or 'none'}, "
                f"{int(requests.get('requests', 0)):,} Mailchimp requests in {seconds:.1f} s; "
                f"{recorded:,} new findings"
            )
            yield dg.MaterializeResult(  # nothing to store: the findings are in the audit
                metadata={
                    **numbers(counts),
                    **numbers(
                        {
                            "new_findings": recorded,
                            "members_read": report.members_read,
                            "mailchimp_requests": int(requests.get("requests", 0)),
                            "seconds": round(seconds, 3),
                        }
                    ),
                    "full_reads": dg.MetadataValue.json(report.scans),
                    "since_last_changed": str(previous.watermark)
                    if previous.watermark
                    else "none (first run)",
                    "sample": sample(report.findings),
                },
            )

    return mailchimp_drift

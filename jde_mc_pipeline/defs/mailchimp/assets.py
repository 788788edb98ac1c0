"""The Mailchimp writes: list members and e-commerce customers, one asset each, in the `mailchimp` pool.

Both are made by one factory from a small `SyncTarget` (which target, which payloads, what runs before),
which returns the asset and its blocking reconciliation check. Each step makes the audience ready
(idempotent: audience check, merge fields, store), sends the payloads of its target and applies its
departures (`on_leave`), every HTTP attempt recorded in `mailchimp_writes` as it goes (AuditRecorder), then
records one outcome per party in `sync_outcomes` and advances the synced state (sync/stages.py
`write_target`). Its output is that outcome frame.

Why a failed write does not fail the step: a failure is an answer about one record (after the client's
retries), recorded as `failed` with its payload so `mailchimp_replay` can send it again; the run succeeds
and the `rejection_rate` check warns. Mailchimp unreachable already while preparing the audience is the
same: every payload is recorded `failed`. Only a configuration problem (unknown audience, bad key, a
merge-field type conflict) or an unusable audit store fails the step.

Why customers after members: Mailchimp adds the e-mail of a new e-commerce customer to the store's audience
itself (as a transactional contact when not opted in); members written afterwards would then already
exist, and `status_if_new` would never apply. So the customer step runs after the member step and reads the
member failures it recorded: a customer whose party's member failed is not sent (`failed`, waiting for the
member; the replay sends members first), and a member step whose reconciliation fails (blocking) stops the
customer step too.

The pool (`pool="mailchimp"`, limit 1) keeps one Mailchimp step at a time across all runs; the client's
process-wide cap (`max_connections`) keeps that step under Mailchimp's 10 simultaneous connections.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.heartbeat import Heartbeat
from jde_mc_pipeline.defs.mailchimp.checks import build_reconciliation_check, rejection_result, rejection_spec
from jde_mc_pipeline.defs.mapping.assets import (
    CUSTOMER_PAYLOADS,
    DECIDED_OUTCOMES,
    DEPARTURES,
    MEMBER_PAYLOADS,
    without_partition_keys,
)
from jde_mc_pipeline.defs.metadata import (
    OWNERS,
    add_partition_counts,
    add_run_metadata,
    numbers,
    outcome_counts,
    sample,
)
from jde_mc_pipeline.defs.partitions import key_range, partition_keys, staged_partitions
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.defs.step_speed import Waits, fewer_collections
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import FAILED, REJECTED_PREFIX
from jde_mc_pipeline.settings.connector import settings_for
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN, close_run, prepare, write_target
from jde_mc_pipeline.sync.writes import TargetBatch, members_failed

MAILCHIMP_GROUP = "mailchimp"
MEMBER_SYNC_KEY = dg.AssetKey("mailchimp_list_member_sync")
CUSTOMER_SYNC_KEY = dg.AssetKey("mailchimp_ecommerce_customer_sync")
SYNC_KEYS = (MEMBER_SYNC_KEY, CUSTOMER_SYNC_KEY)
SAMPLE_COLUMNS = ["an8", "target", "target_key", "outcome", "reason", PARTITION_COLUMN]


@dataclass(frozen=True)
class SyncTarget:
    """What one Mailchimp sync asset writes, for the factory."""

    target: str
    key: dg.AssetKey
    payloads: dg.AssetKey
    description: str
    after: dg.AssetKey | None = None
    """The sync asset that runs first (members before customers)."""


TARGETS: tuple[SyncTarget, ...] = (
    SyncTarget(
        LIST_MEMBER,
        MEMBER_SYNC_KEY,
        MEMBER_PAYLOADS,
        "The audience contacts written to Mailchimp for the day's JDE changes, and what became of every "
        "party: created, updated, renamed, left scope, refused by Mailchimp, failed (sent again by "
        "mailchimp_replay), or not sent and why.",
    ),
    SyncTarget(
        ECOMMERCE_CUSTOMER,
        CUSTOMER_SYNC_KEY,
        CUSTOMER_PAYLOADS,
        "The e-commerce customers written to Mailchimp's store for the day's JDE changes (one per e-mail), "
        "and what became of every party; written after the contacts.",
        after=MEMBER_SYNC_KEY,
    ),
)


def build_sync_target(
    spec: SyncTarget, partitions: dg.PartitionsDefinition
) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    """The sync asset of one target and its reconciliation check (module doc)."""

    @dg.asset(
        key=spec.key,
        ins={
            "payloads": dg.AssetIn(key=spec.payloads),
            "decided": dg.AssetIn(key=DECIDED_OUTCOMES),
            "departures": dg.AssetIn(key=DEPARTURES),
        },
        deps=[spec.after] if spec.after is not None else [],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=MAILCHIMP_POOL,
        group_name=MAILCHIMP_GROUP,
        kinds={"mailchimp", "pandas"},
        owners=OWNERS,
        tags={"system": "mailchimp"},
        io_manager_key="staging",
        check_specs=[rejection_spec(spec.key)],
        description=spec.description,
    )
    def sync(
        context: dg.AssetExecutionContext,
        payloads: pd.DataFrame,
        decided: pd.DataFrame,
        departures: pd.DataFrame,
        jde: JdeAisResource,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ):
        first, last = key_range(context.partition_keys)
        run_id = context.run.run_id
        settings = settings_for(sync_settings, mailchimp, jde.timezone)
        decided = decided.loc[decided["target"] == spec.target]
        departures = departures.loc[departures["target"] == spec.target]
        known = staged_partitions([payloads, decided, departures])
        batch = TargetBatch(
            spec.target, *(without_partition_keys(f) for f in (payloads, decided, departures))
        )
        with audit.closing_run(run_id) as store, fewer_collections():
            audit.open_run(store, context, (first, last))
            waiting = members_failed(store.unresolved_failures(run_id)) if spec.after is not None else set()
            began, waits = time.perf_counter(), Waits()
            with AuditRecorder(store, run_id) as recorder, mailchimp.client(recorder=recorder) as client:
                trouble = prepare(client, settings)
                if trouble is not None:
                    context.log.warning(
                        f"{trouble}: every {spec.target} payload is recorded failed (replayable)"
                    )
                context.log.info(
                    f"{spec.target}: {len(batch.payloads):,} records to write, "
                    f"{len(batch.leaves):,} departures"
                )
                with Heartbeat(context.log, lambda seconds: _writing(spec.target, client.stats, seconds)):
                    outcomes = write_target(
                        client, batch, settings, store, run_id,
                        partition_of=lambda an8: partition_keys(an8, known, last),
                        waiting_for_member=waiting, trouble=trouble,
                    )  # fmt: skip
                requests = dict(client.stats)
            seconds = time.perf_counter() - began
            sent = outcomes.loc[outcomes["payload"].notna()]
            context.log.info(
                f"{spec.target}: {writes_summary(sent, seconds)} "
                f"({requests.get('requests', 0):,} Mailchimp requests), {len(outcomes):,} outcomes recorded"
            )
            _close_if_last(context, store, spec, audit.keep_raw_days, f"{first}...{last}")
            add_partition_counts(context, outcomes, outcomes=True)
            add_run_metadata(
                context,
                {
                    **numbers(outcome_counts(outcomes), prefix="run_"),
                    **numbers(
                        {
                            "run_rows": len(outcomes),
                            "run_records_sent": len(sent),
                            "run_mailchimp_requests": int(requests.get("requests", 0)),
                            "run_mailchimp_retries": int(requests.get("retries", 0)),
                            "run_seconds": round(seconds, 3),
                        }
                    ),
                    **waits.metadata(),
                    "http_statuses": dg.MetadataValue.json(
                        {k: int(v) for k, v in sorted(requests.items()) if k.startswith("status_")}
                    ),
                    "writes_recorded": recorder.recorded,
                    "mailchimp_reachable": trouble is None,
                    "sample": sample(outcomes.loc[:, SAMPLE_COLUMNS]),
                },
            )
            yield dg.Output(outcomes)
            yield rejection_result(spec.key, sent, sync_settings.max_rejection_rate)

    return sync, build_reconciliation_check(spec.target, spec.key)


def _close_if_last(
    context: dg.AssetExecutionContext,
    store: AnyAuditStore,
    spec: SyncTarget,
    keep_raw_days: int | None,
    partitions: str,
) -> None:
    """Mark the run `succeeded` in `sync_runs` when its last Mailchimp step is done, apply retention, and
    say in the log which run it was and what it did (the last line a `dagster asset materialize` prints).

    The customer step runs after the member step, so the run is complete after the customer step, or
    after the member step when the run did not select the customers. Judging by steps, not by outcome
    counts, also closes a run that pulled no party.
    """
    selected = context.run.asset_selection
    followed = [s for s in TARGETS if s.after == spec.key and (selected is None or s.key in selected)]
    if followed:
        return
    run_id = context.run.run_id
    pruned = close_run(store, run_id, RUN_SUCCEEDED, keep_raw_days)
    if pruned:
        context.log.info(f"audit retention ({keep_raw_days} days of raw rows): pruned {pruned}")
    counts = ", ".join(f"{name} {n:,}" for name, n in store.run_counts(run_id).items()) or "no party pulled"
    context.log.info(f"run {run_id} over {partitions} recorded in sync_runs as succeeded: {counts}")


def writes_summary(sent: pd.DataFrame, seconds: float) -> str:
    """What became of the records the step had to send, e.g. `0 of 1 records written in 5.0 s (1 failed,
    0 refused)`: a record whose write failed or was refused carries its payload too (for the replay and
    the audit), so counting payloads alone would call it sent."""
    failed = int((sent["outcome"] == FAILED).sum())
    refused = int(sent["outcome"].str.startswith(REJECTED_PREFIX).sum())
    written = len(sent) - failed - refused
    return (
        f"{written:,} of {len(sent):,} records written in {seconds:.1f} s "
        f"({written / max(seconds, 1e-3):,.0f}/s; {failed:,} failed, {refused:,} refused)"
    )


def _writing(target: str, stats: Mapping[str, int], seconds: float) -> str:
    requests = stats.get("requests", 0)
    return f"writing {target}: {requests:,} Mailchimp requests so far ({requests / seconds:,.1f}/s)"

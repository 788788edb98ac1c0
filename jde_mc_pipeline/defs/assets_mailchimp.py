"""The Mailchimp writes: list members and e-commerce customers, one asset each, in the `mailchimp` pool.

Each step makes the audience ready (idempotent: audience check, merge fields, store), sends the payloads
of its target and applies its departures (`on_leave`), with every HTTP attempt recorded in
`mailchimp_writes` as it goes (AuditRecorder), then records one outcome per party (decided ∪ sent) in
`sync_outcomes` and advances the synced state from them (audit/state.py: successful writes, refusals
for good, departures). Its output is that outcome frame.

Why a write that failed does not fail the step: a failure is an answer about one record (after the
client's retries), recorded as `failed` with its payload so `mailchimp_replay` can send it again. The
run succeeds and the `rejection_rate` check warns. Mailchimp unreachable already while preparing the
audience (no answer, 429, 5xx after retries) is the same: every payload of the step is recorded
`failed`. Only a configuration problem (unknown audience, bad key, a merge-field type conflict) or the
audit store being unusable fails the step.

Why customers after members: Mailchimp adds the e-mail of a new e-commerce customer to the store's
audience itself (as a transactional contact when not opted in); members written afterwards would then
already exist, and `status_if_new` would never apply. So the customer step runs after the member step
and reads the member failures it recorded in the audit store: a customer whose party's member failed is
not sent (`failed`, waiting for the member; the replay sends members first), and a member step whose
reconciliation fails (blocking) stops the customer step too.

The pool (`pool="mailchimp"`, limit 1 from dagster.yaml's `default_limit`) keeps one Mailchimp step at
a time across all runs; the client's process-wide cap (8) keeps that step under Mailchimp's 10
simultaneous connections.
"""

import dagster as dg
import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.assets_mapping import (
    CUSTOMER_PAYLOADS,
    DECIDED_OUTCOMES,
    DEPARTURES,
    MEMBER_PAYLOADS,
)
from jde_mc_pipeline.defs.checks import (
    CUSTOMER_SYNC_KEY,
    MEMBER_SYNC_KEY,
    counts_of,
    rejection_result,
    rejection_spec,
    run_outcome_counts,
    sample,
)
from jde_mc_pipeline.defs.partitions import key_range, upmj_partitions
from jde_mc_pipeline.defs.resources import AuditStoreResource, MailchimpResource, SyncSettingsResource
from jde_mc_pipeline.defs.staging import PARTITION_COLUMN
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mapping.batch import MappingResult
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.payloads import CUSTOMER_COLUMNS, MEMBER_COLUMNS
from jde_mc_pipeline.sync.pipeline import (
    combine_outcomes,
    failed_outcomes,
    members_failed,
    prepare_mailchimp,
    push_target,
    unavailable,
)
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.settings import SyncSettings

MAILCHIMP_GROUP = "mailchimp"
SAMPLE_COLUMNS = ["an8", "target", "target_key", "outcome", "reason", PARTITION_COLUMN]


def _sync_asset(
    target: str, key: dg.AssetKey, payload_key: dg.AssetKey, what: str, after: dg.AssetKey | None
):
    @dg.asset(
        key=key,
        ins={
            "payloads": dg.AssetIn(key=payload_key),
            "decided": dg.AssetIn(key=DECIDED_OUTCOMES),
            "departures": dg.AssetIn(key=DEPARTURES),
        },
        deps=[after] if after is not None else [],
        partitions_def=upmj_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=MAILCHIMP_POOL,
        group_name=MAILCHIMP_GROUP,
        kinds={"mailchimp", "pandas"},
        io_manager_key="staging",
        check_specs=[rejection_spec(key)],
        description=f"Writes the run's {what} to Mailchimp, applies the on_leave action to the records of "
        f"parties that left scope, and holds one outcome per pulled party for {target}: created, updated, "
        "renamed, left_scope:<reason>, rejected:<title>, failed (sent) or the decided ones (unchanged, "
        "merged, quarantined:*, skipped:*), with the payload sent.",
    )
    def sync(
        context: dg.AssetExecutionContext,
        payloads: pd.DataFrame,
        decided: pd.DataFrame,
        departures: pd.DataFrame,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ):
        _, last = key_range(context.partition_keys)
        settings, store, run_id = sync_settings.settings(), audit.store(), context.run.run_id
        decided = decided.loc[decided["target"] == target]
        departures = departures.loc[departures["target"] == target]
        view = _view(target, *(f.drop(columns=PARTITION_COLUMN) for f in (payloads, decided, departures)))
        # The member step ran first (deps) and recorded its outcomes: customers of failed members wait.
        waiting = members_failed(store.unresolved_failures(run_id)) if after is not None else set()
        with AuditRecorder(store, run_id) as recorder, mailchimp.client(recorder=recorder) as client:
            trouble = _prepare(client, settings)
            if trouble is None:
                pushed = push_target(client, target, view, settings, waiting)
            else:
                context.log.warning(f"{trouble}: every {target} payload is recorded failed (replayable)")
                pushed = failed_outcomes(view, trouble)
                pushed = pushed.loc[pushed["target"] == target].reset_index(drop=True)
            requests = dict(client.stats)
        outcomes = combine_outcomes(view, pushed)
        outcomes[PARTITION_COLUMN] = _partition_keys(outcomes["an8"], payloads, decided, departures, last)
        for partition_key, rows in outcomes.groupby(PARTITION_COLUMN, sort=True):
            store.record_outcomes(run_id, str(partition_key), rows.drop(columns=PARTITION_COLUMN))
        advanced = DuckDBSyncedState(store).record_outcomes(outcomes, run_id=run_id)
        close_run_if_complete(context, store, target, audit.keep_raw_days())
        context.log.info(
            f"{target}: {len(pushed)} payloads, {requests.get('requests', 0)} Mailchimp requests, "
            f"{len(outcomes)} outcomes recorded, synced state advanced for {advanced}"
        )
        yield dg.Output(
            outcomes,
            metadata={
                "rows": len(outcomes),
                "payloads": len(pushed),
                "outcomes": dg.MetadataValue.json(counts_of(outcomes, ["outcome"])),
                "mailchimp_requests": int(requests.get("requests", 0)),
                "mailchimp_retries": int(requests.get("retries", 0)),
                "http_statuses": dg.MetadataValue.json(
                    {k: int(v) for k, v in sorted(requests.items()) if k.startswith("status_")}
                ),
                "writes_recorded": recorder.recorded,
                "synced_state_advanced": advanced,
                "mailchimp_reachable": trouble is None,
                "sample": dg.MetadataValue.md(sample(outcomes.loc[:, SAMPLE_COLUMNS])),
            },
        )
        yield rejection_result(key, pushed, sync_settings.rejection_threshold())

    return sync


def _prepare(client: MailchimpClient, settings: SyncSettings) -> str | None:
    """Make the audience ready; the reason when Mailchimp cannot be reached (a configuration problem
    raises: it must stop the run, not become failed outcomes)."""
    try:
        prepare_mailchimp(client, settings)
    except MailchimpApiError as error:
        if not unavailable(error):
            raise
        return f"Mailchimp unavailable before the first write: {error}"
    return None


def _view(
    target: str, payloads: pd.DataFrame, decided: pd.DataFrame, departures: pd.DataFrame
) -> MappingResult:
    """A `MappingResult` holding what the sync functions read for one target (payloads, decided
    outcomes, departures); the parts of the mapping not staged between steps are empty."""
    empty = pd.DataFrame()
    members = payloads if target == LIST_MEMBER else pd.DataFrame(columns=list(MEMBER_COLUMNS))
    customers = payloads if target == ECOMMERCE_CUSTOMER else pd.DataFrame(columns=list(CUSTOMER_COLUMNS))
    pulled = np.unique(
        np.concatenate(
            [
                decided["an8"].to_numpy(np.int64),
                payloads["key"].to_numpy(np.int64),
                departures["an8"].to_numpy(np.int64),
            ]
        )
    )
    return MappingResult(
        parties=empty,
        members=members,
        customers=customers,
        outcomes=decided,
        leaves=departures,
        events=empty,
        trail=empty,
        failures=empty,
        pulled=pulled,
    )


def _partition_keys(
    an8: pd.Series, payloads: pd.DataFrame, decided: pd.DataFrame, departures: pd.DataFrame, fallback: str
) -> pd.Series:
    """The partition of each outcome's party, as the mapping staged it (the run's last key otherwise)."""
    known = pd.concat(
        [
            pd.Series(
                payloads[PARTITION_COLUMN].to_numpy(), index=payloads["key"].astype(np.int64).to_numpy()
            ),
            pd.Series(decided[PARTITION_COLUMN].to_numpy(), index=decided["an8"].astype(np.int64).to_numpy()),
            pd.Series(
                departures[PARTITION_COLUMN].to_numpy(), index=departures["an8"].astype(np.int64).to_numpy()
            ),
        ]
    )
    known = known[~known.index.duplicated()]
    found = an8.map(known)
    return found.where(found.notna(), fallback).astype(object)


def close_run_if_complete(
    context: dg.AssetExecutionContext, store: AuditStore, target: str, keep_raw_days: int | None
) -> None:
    """Mark the run `succeeded` in `sync_runs` when its last Mailchimp step is done, then apply retention.

    The customer step runs after the member step (`deps`), so the run is complete after the customer
    step, or after the member step when the run did not select the customers. Judging by steps and not
    by outcome counts also closes a run that pulled no party (it has no outcomes at all).
    """
    selected = context.run.asset_selection
    customers_follow = target == LIST_MEMBER and (selected is None or CUSTOMER_SYNC_KEY in selected)
    if customers_follow:
        return
    run_id = context.run.run_id
    store.finish_run(run_id, "succeeded", run_outcome_counts(store, run_id))
    if keep_raw_days is not None:
        pruned = store.prune(keep_raw_days)
        context.log.info(f"audit retention ({keep_raw_days} days of raw rows): pruned {pruned}")


mailchimp_list_member_sync = _sync_asset(
    LIST_MEMBER, MEMBER_SYNC_KEY, MEMBER_PAYLOADS, "list-member payloads", after=None
)
mailchimp_ecommerce_customer_sync = _sync_asset(
    ECOMMERCE_CUSTOMER,
    CUSTOMER_SYNC_KEY,
    CUSTOMER_PAYLOADS,
    "e-commerce customer payloads",
    after=MEMBER_SYNC_KEY,
)

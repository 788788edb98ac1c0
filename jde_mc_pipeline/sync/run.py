"""One whole sync of a batch of JDE frames, outside Dagster, with the audit trail written as it goes.

Why it exists next to the Dagster assets: the scope reconciliation job, the end-to-end tests and any
script need the whole chain (prepare, map, push, record, reconcile) in one call, and the order of the
audit writes matters: pulls, mapped values and mapping events first, the outcomes of each push as soon
as it returns, and the synced state advanced right after each push, so that a crash half-way leaves a
truthful audit and a state that only claims what Mailchimp confirmed. Members go before customers, and
a customer whose member failed waits (sync/pipeline.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mapping.batch import MappingResult
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.sync.pipeline import (
    PreparedAudience,
    Reconciliation,
    combine_outcomes,
    failed_outcomes,
    map_frames,
    members_failed,
    outcome_counts,
    prepare_mailchimp,
    push_target,
    reconcile,
    unavailable,
)
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.settings import SyncSettings

SYNC_JOB = "jde_to_mailchimp_sync"


@dataclass(frozen=True)
class SyncReport:
    """What one sync did."""

    run_id: str
    prepared: PreparedAudience | None
    """None when Mailchimp was unreachable before the first write (every payload is then `failed`)."""
    result: MappingResult
    outcomes: pd.DataFrame
    """One row per pulled AN8 × target (PUSHED_COLUMNS)."""
    reconciliation: Reconciliation
    counts: dict[str, int]


def run_sync(
    frames: dict[str, pd.DataFrame],
    client: MailchimpClient,
    store: AuditStore,
    settings: SyncSettings,
    *,
    run_id: str,
    partition_key: str | None = None,
    today: dt.date | None = None,
    deleted: list[int] | tuple[int, ...] = (),
    job: str = SYNC_JOB,
) -> SyncReport:
    """Sync one batch of frames (jde/frames.py) to Mailchimp and record everything under `run_id`.

    `deleted`: AN8s known to be gone from JDE (the scope reconciliation). A configuration problem
    (unknown audience, bad key, conflicting merge fields) raises before any write; Mailchimp
    unreachable during the preparation makes every payload `failed` (replayable). The client's
    recorder is replaced by an `AuditRecorder` for the duration of the run.
    """
    store.start_run(run_id, job, partition_key, partition_key)
    status = "failed"
    counts: dict[str, int] = {}
    previous_recorder = client.recorder
    recorder = AuditRecorder(store, run_id)
    client.recorder = recorder
    try:
        store.record_pulls(run_id, frames)
        try:
            prepared: PreparedAudience | None = prepare_mailchimp(client, settings)
            trouble = None
        except MailchimpApiError as error:
            if not unavailable(error):
                raise
            prepared, trouble = None, f"Mailchimp unavailable before the first write: {error}"
        state = DuckDBSyncedState(store)
        result = map_frames(frames, settings, state, today, deleted=list(deleted))
        store.record_mapped_values(run_id, result.trail)
        store.record_events(run_id, result.events.assign(partition_key=partition_key))
        decided = combine_outcomes(result)
        store.record_outcomes(run_id, partition_key, decided)
        state.record_outcomes(decided, run_id=run_id)
        pushed = []
        if trouble is not None:
            pushed.append(failed_outcomes(result, trouble))
            store.record_outcomes(run_id, partition_key, pushed[0])
        waiting: set[int] = set()
        for target in TARGETS if trouble is None else ():
            rows = push_target(client, target, result, settings, waiting)
            recorder.flush()
            store.record_outcomes(run_id, partition_key, rows)
            state.record_outcomes(rows, run_id=run_id)
            waiting |= members_failed(rows)
            pushed.append(rows)
        outcomes = combine_outcomes(result, *pushed)
        reconciliation = reconcile(result.pulled, outcomes)
        counts = outcome_counts(outcomes)
        status = "succeeded" if reconciliation.ok else "failed"
    finally:
        client.recorder = previous_recorder
        recorder.close()
        store.finish_run(run_id, status, counts)
    return SyncReport(run_id, prepared, result, outcomes, reconciliation, counts)

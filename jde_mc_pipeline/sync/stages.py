"""The stages of a sync, each with the audit writes that belong to it, free of Dagster.

pull (a window of JDE changes, or a list of parties, with their companions) → map and record (the trail
and the mapping events) → write each target (members, then customers; departures with each) and record
its outcomes and the synced state → close the run. The partitioned Dagster job runs these stages as its
assets (jde_mc_pipeline/defs/), one stage per step; `sync_batch` runs them in the same order for a batch
that is not a partition: the scope reconciliation's parties, and tests that need a whole sync without a
Dagster run.

The order of the audit writes is part of the contract: pulls before anything is mapped, mapped values
and events before anything is sent, each target's outcomes and the state right after its writes, so a
crash half-way leaves a truthful audit and a state that only claims what Mailchimp confirmed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore, AnySyncedState, synced_state
from jde_mc_pipeline.audit.legacy import legacy_an8s, record_if_moved
from jde_mc_pipeline.audit.store import RUN_FAILED, RUN_SUCCEEDED, JsonText
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import Extraction, Window, extract_window
from jde_mc_pipeline.jde.udc import add_descriptions
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mapping.batch import MappingResult
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS, MappingOptions
from jde_mc_pipeline.mapping.segments import on_demand_columns, udc_columns
from jde_mc_pipeline.sync.companions import with_companions
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.writes import (
    Reconciliation,
    TargetBatch,
    combine_outcomes,
    failed_outcomes,
    map_frames,
    members_failed,
    prepare_mailchimp,
    push_target,
    reconcile,
    unavailable,
)

PARTITION_COLUMN = "partition_key"
PartitionOf = Callable[[pd.Series], pd.Series]
"""AN8s → the partition key each party belongs to (the partitioned job's; none outside it)."""


@dataclass(frozen=True)
class Pulled:
    """What a pull read: the extraction of the window and the frames with the companions added."""

    extraction: Extraction
    frames: dict[str, pd.DataFrame]
    companions: np.ndarray
    deleted: np.ndarray
    """Companions JDE holds no row of any more: the mapping's `deleted` (sync/companions.py)."""


def pull_window(
    ais: AisClient, state: AnySyncedState, window: Window, options: MappingOptions | None = None
) -> Pulled:
    """The parties changed in `window`, with every party that shares a record with them and the parties
    of customers still under a legacy id until their move is recorded (sync/companions.py,
    audit/legacy.py); with the category codes and UDC descriptions the segment fields of `options` send
    (jde/udc.py)."""
    if options:
        ais.on_demand = on_demand_columns(options.segment_fields)
    extraction = extract_window(ais, window)
    legacy = legacy_an8s(state)
    found = with_companions(ais, state, extraction.frames, legacy)
    frames = add_descriptions(ais, found.frames, udc_columns(options.segment_fields) if options else ())
    return Pulled(extraction, frames, found.added, found.deleted)


def map_and_record(
    frames: dict[str, pd.DataFrame],
    settings: SyncSettings,
    store: AnyAuditStore,
    run_id: str,
    *,
    today: dt.date | None = None,
    deleted: Collection[int] = (),
    partition_of: PartitionOf | None = None,
    timings: dict[str, float] | None = None,
) -> MappingResult:
    """Map the frames against the synced state; record the field trail and the mapping events."""
    result = map_frames(frames, settings, synced_state(store), today, deleted=list(deleted), timings=timings)
    store.record_mapped_values(run_id, result.trail)
    events = result.events
    store.record_events(run_id, events.assign(**{PARTITION_COLUMN: _keys(events["an8"], partition_of)}))
    return result


def prepare(client: MailchimpClient, settings: SyncSettings) -> str | None:
    """Make the audience ready; the reason when Mailchimp cannot be reached (a configuration problem
    raises: it must stop the run, not become failed outcomes)."""
    try:
        prepare_mailchimp(client, settings)
    except MailchimpApiError as error:
        if not unavailable(error):
            raise
        return f"Mailchimp unavailable before the first write: {error}"
    return None


def write_target(
    client: MailchimpClient,
    batch: TargetBatch,
    settings: SyncSettings,
    store: AnyAuditStore,
    run_id: str,
    *,
    partition_of: PartitionOf | None = None,
    waiting_for_member: Collection[int] = (),
    trouble: str | None = None,
) -> pd.DataFrame:
    """Send one target's batch (or record it all `failed` when Mailchimp was unreachable: `trouble`);
    record one outcome per party in `sync_outcomes` and advance the synced state. Returns the outcomes
    with their `partition_key`. The customers the state holds are not read from Mailchimp before their
    write (mailchimp/ecommerce.py); after it, the move of legacy customer ids is recorded once done."""
    state = synced_state(store)
    customers = batch.target == ECOMMERCE_CUSTOMER
    if trouble is None:
        known = state.held_keys(batch.target, batch.payloads["target_key"]) if customers else set()
        pushed = push_target(client, batch, settings, waiting_for_member, known)
    else:
        pushed = failed_outcomes(batch, trouble)
    outcomes = combine_outcomes(batch.decided, pushed)
    outcomes[PARTITION_COLUMN] = _keys(outcomes["an8"], partition_of)
    store.record_outcomes(
        run_id, outcomes[PARTITION_COLUMN].tolist(), outcomes.drop(columns=PARTITION_COLUMN)
    )
    state.record_outcomes(outcomes, run_id=run_id)
    if customers:
        record_if_moved(state, run_id)
    # plain text from here: the frame is staged, and pickle writes a str subclass ten times slower
    outcomes["payload"] = [str(p) if isinstance(p, JsonText) else p for p in outcomes["payload"]]
    return outcomes


def close_run(
    store: AnyAuditStore, run_id: str, status: str, keep_raw_days: int | None = None
) -> dict[str, int]:
    """Mark the run's row in `sync_runs` with its outcome counts, then apply the raw-row retention;
    returns the rows pruned."""
    store.finish_run(run_id, status, store.run_counts(run_id))
    return store.prune(keep_raw_days) if keep_raw_days is not None else {}


@dataclass(frozen=True)
class BatchReport:
    """What `sync_batch` did."""

    run_id: str
    result: MappingResult
    outcomes: pd.DataFrame
    """One row per pulled AN8 × target (PUSHED_COLUMNS and `partition_key`)."""
    reconciliation: Reconciliation
    counts: dict[str, int]


def sync_batch(
    frames: dict[str, pd.DataFrame],
    client: MailchimpClient,
    store: AnyAuditStore,
    settings: SyncSettings,
    *,
    run_id: str,
    job: str,
    today: dt.date | None = None,
    deleted: Collection[int] = (),
    keep_raw_days: int | None = None,
) -> BatchReport:
    """Every stage over one batch of frames (module doc), recorded under `run_id` in `sync_runs` as `job`.

    `deleted`: AN8s known to be gone from JDE (kept in `jde_deleted`). The client's recorder is replaced
    by an `AuditRecorder` for the duration. The run is `failed` in `sync_runs` when a party lacks exactly
    one outcome per target; a configuration problem raises (after closing the run as failed).
    """
    store.start_run(run_id, job)
    status = RUN_FAILED
    previous, recorder = client.recorder, AuditRecorder(store, run_id)
    client.recorder = recorder
    try:
        store.record_pulls(run_id, frames)
        store.record_deleted(run_id, list(deleted))
        trouble = prepare(client, settings)
        result = map_and_record(frames, settings, store, run_id, today=today, deleted=deleted)
        parts, waiting = [], set()
        for target in TARGETS:
            rows = write_target(client, TargetBatch.of(result, target), settings, store, run_id,
                                waiting_for_member=waiting, trouble=trouble)  # fmt: skip
            recorder.flush()
            if target == LIST_MEMBER:
                waiting = members_failed(rows)
            parts.append(rows)
        outcomes = pd.concat(parts, ignore_index=True)
        reconciliation = reconcile(result.pulled, outcomes)
        status = RUN_SUCCEEDED if reconciliation.ok else RUN_FAILED
    finally:
        client.recorder = previous
        recorder.close()
        close_run(store, run_id, status, keep_raw_days)
    return BatchReport(run_id, result, outcomes, reconciliation, store.run_counts(run_id))


def _keys(an8: pd.Series, partition_of: PartitionOf | None) -> pd.Series:
    if partition_of is None:
        return pd.Series([None] * len(an8), index=an8.index, dtype=object)
    return partition_of(an8)

"""Replay: send again the recorded payloads of `failed` writes, from the audit store alone.

Why from the audit store: a `failed` write (transient trouble that outlived the retries) keeps the
exact record that was sent in `sync_outcomes.payload`, so a replay needs neither JDE nor the mapping.
It only sends a failure that is still the newest outcome of its (AN8, target): when a later run
already wrote (or decided, e.g. `unchanged`) that party, the old payload is out of date and sending it
would undo newer data, so such a failure is only marked resolved (`superseded` in the returned frame).

What the replay leaves behind: its HTTP attempts in `mailchimp_writes` and its outcomes in
`sync_outcomes`, both under `replay_run_id`; the replayed rows get `resolved_by = replay_run_id` when
the new attempt succeeded or was rejected for good (a new `failed` leaves them open, and the new row
is the one a later replay sends); the synced state advances for the successes and remembers the
refusals for good (audit/state.py: that payload is then not sent again). A second replay finds
nothing left to do. A failure recorded without a payload (not written by the sync) cannot be re-sent
and is left open for a person to look at.

Members go first (docs/mapping.md): a customer whose party's member fails again in this replay is not
sent and stays `failed`, waiting for its member. Failed departures (`on_leave` actions) are applied
again like the writes, with the same rule of "only the newest outcome of its party".
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore, synced_state
from jde_mc_pipeline.audit.store import RUN_SUCCEEDED
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.members import upsert_members
from jde_mc_pipeline.mapping.options import LIST_MEMBER, TARGETS
from jde_mc_pipeline.mapping.outcomes import FAILED, SUPERSEDED
from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.writes import (
    PUSHED_COLUMNS,
    apply_leave_rows,
    members_failed,
    outcome_rows,
    prepare_mailchimp,
    record_from_payload,
    write_customers,
)

REPLAY_JOB = "mailchimp_replay"
REPLAY_COLUMNS: tuple[str, ...] = (*PUSHED_COLUMNS, "replayed_run_id", "resolved")
"""The returned frame: the new outcome rows, the run whose failure each replays, and whether that
failure is now resolved."""


def replay_failures(
    store: AnyAuditStore,
    client: MailchimpClient,
    settings: SyncSettings,
    *,
    run_id: str | None,
    replay_run_id: str,
    record_run: bool = True,
) -> pd.DataFrame:
    """Re-send the unresolved `failed` payloads of `run_id` (None: of every run); see the module doc.

    With `record_run` the replay also gets its own `sync_runs` row (job `mailchimp_replay`). When the
    client has no recorder, an `AuditRecorder` for `replay_run_id` is attached for the duration.
    """
    if record_run:
        store.start_run(replay_run_id, REPLAY_JOB)
    failures = store.unresolved_failures(run_id)
    failures = failures.loc[failures["payload"].notna() | ~failures["is_latest"].astype(bool)]
    latest = failures.loc[failures["is_latest"].astype(bool)]
    superseded = failures.loc[~failures["is_latest"].astype(bool)]
    store.mark_resolved(superseded, replay_run_id)

    own_recorder = client.recorder is None
    recorder = AuditRecorder(store, replay_run_id) if own_recorder else None
    if own_recorder:
        client.recorder = recorder
    try:
        if len(latest):
            prepare_mailchimp(client, settings)  # the failed run may never have got this far
        sent, waiting = [], set()
        for target in TARGETS:  # members first: their failures hold their customers back
            rows = _resend(client, settings, target, latest.loc[latest["target"] == target], waiting)
            waiting |= members_failed(rows)
            sent.append(rows)
    finally:
        if own_recorder:
            client.recorder = None
            recorder.close()
    new = pd.concat([frame for frame in sent if len(frame)] or [_empty()], ignore_index=True)

    store.record_outcomes(replay_run_id, new["partition_key"].tolist(), new.drop(columns=["partition_key"]))
    synced_state(store).record_outcomes(new, run_id=replay_run_id)
    settled = new.loc[new["outcome"] != FAILED, ["replayed_run_id", "an8", "target"]]
    store.mark_resolved(
        latest.merge(settled.rename(columns={"replayed_run_id": "run_id"}), on=["run_id", "an8", "target"]),
        replay_run_id,
    )
    new["resolved"] = new["outcome"] != FAILED
    old = pd.DataFrame(
        {
            "an8": superseded["an8"].astype(np.int64),
            "target": superseded["target"],
            "target_key": superseded["target_key"],
            "outcome": SUPERSEDED,
            "reason": "a later run decided "
            + superseded["latest_outcome"]
            + " ("
            + superseded["latest_run_id"]
            + ")",
            "payload_hash": superseded["payload_hash"],
            "payload": None,
            "replayed_run_id": superseded["run_id"],
            "resolved": True,
        }
    )
    returned = pd.concat([new.drop(columns=["partition_key"]), old], ignore_index=True)
    returned = returned.loc[:, list(REPLAY_COLUMNS)]
    if record_run:
        store.finish_run(replay_run_id, RUN_SUCCEEDED, store.run_counts(replay_run_id))
    return returned


def _resend(
    client: MailchimpClient, settings: SyncSettings, target: str, failures: pd.DataFrame, waiting: set[int]
) -> pd.DataFrame:
    """Send one target's stored payloads (writes and departures); outcome rows plus `replayed_run_id`
    and `partition_key`. Customers of AN8s in `waiting` are not sent (their member failed again)."""
    if failures.empty:
        return _empty()
    payloads = [json.loads(payload) for payload in failures["payload"]]
    leaving = np.array(["action" in payload for payload in payloads], dtype=bool)
    parts = []
    writes = failures.loc[~leaving]
    if len(writes):
        records = [
            record_from_payload(target, p) for p, leave in zip(payloads, leaving, strict=True) if not leave
        ]
        if target == LIST_MEMBER:
            results = upsert_members(client, settings.list_id, records, chunk_size=settings.member_chunk_size)
        else:
            results = write_customers(client, settings, records, waiting)
        rows = outcome_rows(records, results, writes["payload_hash"])
        parts.append(_tagged(rows, writes))
    leaves = failures.loc[leaving]
    if len(leaves):
        frame = _leave_frame(target, [p for p, leave in zip(payloads, leaving, strict=True) if leave], leaves)
        rows = apply_leave_rows(client, settings, frame)
        by_an8 = leaves.set_index(leaves["an8"].astype(np.int64))
        parts.append(_tagged(rows, by_an8.loc[rows["an8"].astype(np.int64)]))
    return pd.concat(parts, ignore_index=True)


def _leave_frame(target: str, payloads: list[dict], failures: pd.DataFrame) -> pd.DataFrame:
    """The leave rows (LeaveFrame columns) of stored departure payloads, one per failed AN8."""
    rows = [
        {
            "an8": int(an8),
            "target": target,
            "target_key": payload["target_key"],
            "email_address": payload["email_address"],
            "action": payload["action"],
            "tags_inactive": tuple(payload.get("tags_inactive") or ()),
            "reason": payload.get("left") or "no_role",
            "holder": int(payload["key"]),
        }
        for payload, an8 in zip(payloads, failures["an8"], strict=True)
    ]
    return pd.DataFrame(rows)


def _tagged(rows: pd.DataFrame, failures: pd.DataFrame) -> pd.DataFrame:
    """New outcome rows with the run and partition of the failures they replay (row-aligned)."""
    rows["replayed_run_id"] = failures["run_id"].to_numpy()
    rows["partition_key"] = failures["partition_key"].to_numpy()
    return rows


def _empty() -> pd.DataFrame:
    frame = pd.DataFrame(columns=[*PUSHED_COLUMNS, "replayed_run_id", "partition_key"])
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame

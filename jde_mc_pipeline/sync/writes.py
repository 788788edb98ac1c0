"""The sync's work on Mailchimp: the audience made ready, the payloads written, their outcome rows, and
the check that every party got one; free of Dagster and of the audit (stages.py adds the audit writes
around these), so that the CLI, the Dagster assets and the tests run the same code.

prepare → map → push members / push customers → combine → reconcile. Why split like this: each step
is one Dagster asset (or asset check), and each returns plain frames the audit store can keep. The
outcome rows of a push carry the record sent (`payload`, JSON-able), because a `failed` write must be
replayable from the audit store alone, long after the mapping result is gone.

The records' JSON for `sync_outcomes` is encoded in a thread of its own while the writes wait on Mailchimp
(the request threads mostly wait, so the encoding costs the step almost no time), and the outcome rows
of written records carry it as text (`JsonText`), which the audit keeps as it is.

Outcome names: the API results become `created`, `updated`, `renamed`, `left_scope:<reason>`,
`rejected:<Mailchimp title>` or `failed` (docs/mapping.md); `reason` is Mailchimp's detail (or the
failure's cause).

Members before customers, per party (docs/mapping.md): a customer whose party's member write failed in
this run is not sent (Mailchimp would create the contact as transactional, and the member's
`status_if_new` could then never apply); it is `failed`, waiting for the member, with its record kept
for the replay, which sends members first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Collection, Iterable, Iterator, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.store import JsonText
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mailchimp.leaves import LEFT, apply_leaves
from jde_mc_pipeline.mailchimp.members import upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import (
    DEFAULT_MERGE_FIELDS,
    MergeFieldReport,
    add_choices,
    ensure_merge_fields,
    segment_specs,
)
from jde_mc_pipeline.mailchimp.records import CustomerWrite, LeaveWrite, MemberWrite, WriteResult
from jde_mc_pipeline.mapping.batch import MappingResult, map_batch
from jde_mc_pipeline.mapping.changes import SyncedState
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS
from jde_mc_pipeline.mapping.outcomes import (
    FAILED,
    LEFT_SCOPE_PREFIX,
    REASON_WAITING_FOR_MEMBER,
    REJECTED,
    REJECTED_PREFIX,
    SUCCESSFUL,
)
from jde_mc_pipeline.mapping.payloads import customer_write_fields, member_write_fields
from jde_mc_pipeline.sync.inspection import inspect_audience
from jde_mc_pipeline.sync.settings import SyncSettings

PUSHED_COLUMNS: tuple[str, ...] = (
    "an8",
    "target",
    "target_key",
    "outcome",
    "reason",
    "payload_hash",
    "payload",
)
"""Columns of the outcome rows of `push_members` / `push_customers` / `combine_outcomes`."""


@dataclass(frozen=True)
class PreparedAudience:
    """What `prepare_mailchimp` found and did: the audience, its merge fields, and the store."""

    audience: dict[str, Any]
    merge_fields: MergeFieldReport
    store: dict[str, Any]


def prepare_mailchimp(client: MailchimpClient, settings: SyncSettings) -> PreparedAudience:
    """Make the audience and store ready for writes; idempotent.

    Everything that could stop the sync is read first (audience, merge-field types, the store's audience
    binding) and raised as one clear error (`AudienceNotFoundError`, `MergeFieldConflictError`,
    `StoreConflictError`) before anything is written; then the missing merge fields and the store are
    created.
    """
    inspection = inspect_audience(client, settings)
    inspection.raise_for_problems()
    segments = segment_specs(settings.mapping.segment_fields)
    report = ensure_merge_fields(client, settings.list_id, DEFAULT_MERGE_FIELDS + segments)
    options = settings.mapping
    store = inspection.store  # read above and judged bound to this audience: not read again
    if store is None:
        store = ensure_store(
            client, options.store_id, settings.list_id, options.store_name, options.currency_code
        )
    return PreparedAudience(audience=inspection.audience, merge_fields=report, store=store)


def map_frames(
    frames: dict[str, pd.DataFrame],
    settings: SyncSettings,
    state: SyncedState | None,
    today: dt.date | None = None,
    **options: Any,
) -> MappingResult:
    """`map_batch` with the settings' mapping options; `today` defaults to today in JDE's time zone
    (the current F0116 address is the one effective on JDE's date, not the machine's)."""
    today = today or jde_now(settings.jde_timezone).day
    return map_batch(frames, settings.mapping, state=state, today=today, **options)


def member_records(payloads: pd.DataFrame) -> list[MemberWrite]:
    """One `MemberWrite` per member payload row."""
    return [MemberWrite(**member_write_fields(row)) for row in _rows(payloads)]


def customer_records(payloads: pd.DataFrame) -> list[CustomerWrite]:
    """One `CustomerWrite` per customer payload row."""
    return [CustomerWrite(**customer_write_fields(row)) for row in _rows(payloads)]


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Each row as a dict of its columns' plain values: `to_dict("records")` boxes every value one by
    one, a second of the member step's 100,000 records (BENCHMARKS.md)."""
    names = list(frame.columns)
    return (dict(zip(names, values, strict=True)) for values in frame.itertuples(index=False, name=None))


def leave_records(leaves: pd.DataFrame) -> tuple[list[LeaveWrite], list[pd.DataFrame]]:
    """One `LeaveWrite` per record left (its leaving AN8s together), and the leave rows of each."""
    records, rows = [], []
    for key, group in leaves.groupby("target_key", sort=True):
        first = group.iloc[0]
        records.append(
            LeaveWrite(
                key=str(first["holder"]),
                target=first["target"],
                target_key=str(key),
                email_address=first["email_address"],
                action=first["action"],
                tags_inactive=tuple(first["tags_inactive"]),
                an8s=tuple(int(a) for a in group["an8"]),
            )
        )
        rows.append(group)
    return records, rows


@dataclass(frozen=True)
class TargetBatch:
    """What one target's step works on: its payload rows, the outcomes the mapping decided for it and its
    departures (the frames a Dagster step receives staged, or a mapping result's parts)."""

    target: str
    payloads: pd.DataFrame
    decided: pd.DataFrame
    leaves: pd.DataFrame

    @classmethod
    def of(cls, result: MappingResult, target: str) -> TargetBatch:
        """The target's part of a mapping result."""
        return cls(
            target,
            result.payloads(target),
            result.outcomes.loc[result.outcomes["target"] == target],
            result.leaves.loc[result.leaves["target"] == target],
        )


def push_target(
    client: MailchimpClient,
    batch: TargetBatch,
    settings: SyncSettings,
    waiting_for_member: Collection[int] = (),
    known_customers: Set[str] = frozenset(),
) -> pd.DataFrame:
    """Write one target's payloads and apply its departures; one outcome row (PUSHED_COLUMNS) per
    payload row and per leaving AN8. `waiting_for_member`: AN8s whose member write failed in this run
    (their customers are `failed` without being sent); `known_customers`: the customer ids the synced
    state holds (not read before their write)."""
    members = batch.target == LIST_MEMBER
    records = member_records(batch.payloads) if members else customer_records(batch.payloads)
    # The records' JSON for the audit is made while the writes wait on Mailchimp (module doc)
    with ThreadPoolExecutor(1, thread_name_prefix="payload-json") as encoder:
        texts = encoder.submit(payload_texts, records)
        if members:
            add_dropdown_choices(client, settings, records)
            chunk = settings.member_chunk_size
            results = upsert_members(client, settings.list_id, records, chunk_size=chunk)
        else:
            results = write_customers(client, settings, records, waiting_for_member, known_customers)
        written = outcome_rows(records, results, batch.payloads["payload_hash"], texts.result())
    return pd.concat([written, apply_leave_rows(client, settings, batch.leaves)], ignore_index=True)


def payload_texts(records: Sequence[MemberWrite | CustomerWrite]) -> list[JsonText]:
    """Each record as the JSON the audit keeps (`record_payload`, keys sorted: what `sync_outcomes`
    would otherwise encode itself once the writes are done)."""
    return [JsonText.of(record_payload(record)) for record in records]


def add_dropdown_choices(
    client: MailchimpClient, settings: SyncSettings, records: Sequence[MemberWrite]
) -> None:
    """Give each dropdown segment field the values these members carry that it lacks, before they are
    written (Mailchimp refuses a value outside a dropdown's choices; mailchimp/merge_fields.py). A value
    is added once, by the first run that sends it; a choice is never removed."""
    for segment in settings.mapping.segment_fields:
        if segment.type == "dropdown" and segment.merge_field and records:
            values = {str(r.merge_fields.get(segment.merge_field) or "") for r in records}
            try:
                add_choices(client, settings.list_id, segment.merge_field, sorted(values - {""}))
            except MailchimpApiError as error:
                if not unavailable(error):
                    raise  # Mailchimp down: the member writes that follow fail and are kept for the replay


def write_customers(
    client: MailchimpClient,
    settings: SyncSettings,
    records: Sequence[CustomerWrite],
    waiting_for_member: Collection[int] = (),
    known: Set[str] = frozenset(),
) -> list[WriteResult]:
    """Upsert the customers, except those of a party whose member write failed (`failed`, waiting);
    `known`: the customer ids the synced state holds."""
    waiting = set(waiting_for_member)
    held = [bool(waiting.intersection(record.an8s or (int(record.key),))) for record in records]
    sent = [record for record, hold in zip(records, held, strict=True) if not hold]
    threshold = settings.customer_batch_threshold
    results = iter(upsert_customers(client, settings.store_id, sent, batch_threshold=threshold, known=known))
    return [_waiting(record) if hold else next(results) for record, hold in zip(records, held, strict=True)]


def apply_leave_rows(client: MailchimpClient, settings: SyncSettings, leaves: pd.DataFrame) -> pd.DataFrame:
    """Apply the leave rows (LeaveFrame columns), one call per record; one outcome row per leaving AN8."""
    if leaves.empty:
        return _frame([])
    records, groups = leave_records(leaves)
    answers = apply_leaves(client, settings.list_id, settings.store_id, records)
    return pd.concat(
        [
            leave_outcome_rows(r, answer, rows)
            for r, answer, rows in zip(records, answers, groups, strict=True)
        ],
        ignore_index=True,
    )


def leave_outcome_rows(record: LeaveWrite, answer: WriteResult, rows: pd.DataFrame) -> pd.DataFrame:
    """The outcome rows of one record left, one per leaving AN8 (`rows`: an8, reason). The payload keeps
    the record and the AN8's reason, so a failed departure can be replayed from the audit alone."""
    done = answer.outcome == LEFT
    return _frame(
        [
            {
                "an8": int(an8),
                "target": record.target,
                "target_key": record.target_key,
                "outcome": LEFT_SCOPE_PREFIX + why if done else outcome_name(answer),
                "reason": answer.detail or answer.title or "",
                "payload_hash": None,
                "payload": {**record_payload(record), "record_removed": done, "left": why},
            }
            for an8, why in zip(rows["an8"], rows["reason"], strict=True)
        ]
    )


def _waiting(record: CustomerWrite) -> WriteResult:
    return WriteResult(
        record.key,
        ECOMMERCE_CUSTOMER,
        record.customer_id,
        FAILED,
        None,
        "Waiting",
        REASON_WAITING_FOR_MEMBER,
        0,
    )


def members_failed(pushed: pd.DataFrame) -> set[int]:
    """The AN8s whose member write failed in these outcome rows (the holder and every AN8 folded in)."""
    failed = pushed.loc[(pushed["target"] == LIST_MEMBER) & (pushed["outcome"] == FAILED)]
    an8s: set[int] = set(failed["an8"].astype(int))
    for payload in failed["payload"]:
        fields = json.loads(payload) if isinstance(payload, str) else payload or {}
        an8s.update(int(a) for a in fields.get("an8s") or ())
    return an8s


def outcome_rows(
    records: Sequence[MemberWrite | CustomerWrite],
    results: Sequence[WriteResult],
    payload_hashes: Iterable[str],
    payloads: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """The outcome rows of written records: the client's result, the payload hash and the record sent
    (`payloads`: the records already as JSON, `payload_texts`; by default the records as dicts)."""
    sent = payloads if payloads is not None else [record_payload(record) for record in records]
    rows = [
        {
            "an8": int(record.key),
            "target": result.target,
            "target_key": result.target_key,
            "outcome": outcome_name(result),
            "reason": result.detail or result.title or "",
            "payload_hash": digest,
            "payload": payload,
        }
        for record, result, digest, payload in zip(records, results, payload_hashes, sent, strict=True)
    ]
    return _frame(rows)


def outcome_name(result: WriteResult) -> str:
    """`rejected` becomes `rejected:<Mailchimp title>` (docs/mapping.md); other outcomes are kept."""
    if result.outcome == REJECTED:
        return REJECTED_PREFIX + (result.title or f"HTTP {result.status_code}")
    return result.outcome


def record_payload(record: MemberWrite | CustomerWrite | LeaveWrite) -> dict[str, Any]:
    """The record as a JSON-able dict (tuples as lists), enough to rebuild it for a replay.

    Shallow on purpose: `dataclasses.asdict` deep-copies every nested dict (merge fields, addresses),
    which was a fifth of the member and customer steps' time. The payload is only serialised; nothing
    mutates the dicts it shares with the record.
    """
    values = ((f.name, getattr(record, f.name)) for f in dataclasses.fields(record))
    return {key: list(value) if isinstance(value, tuple) else value for key, value in values}


def record_from_payload(target: str, payload: dict[str, Any]) -> MemberWrite | CustomerWrite | LeaveWrite:
    """The write record of a stored payload (the inverse of `record_payload`)."""
    fields = {key: tuple(value) if isinstance(value, list) else value for key, value in payload.items()}
    if "action" in fields:
        fields.pop("record_removed", None)
        fields.pop("left", None)
        return LeaveWrite(**fields)
    if target == LIST_MEMBER:
        return MemberWrite(**fields)
    if target == ECOMMERCE_CUSTOMER:
        return CustomerWrite(**fields)
    raise ValueError(f"unknown target {target!r}")


def unavailable(error: Exception) -> bool:
    """Whether a setup error means "Mailchimp could not be reached for now" (no answer, 429, 5xx), as
    opposed to a configuration problem that must stop the sync (unknown audience, bad key, conflicts)."""
    if not isinstance(error, MailchimpApiError):
        return False
    return error.status is None or error.status == 429 or error.status >= 500


def failed_outcomes(batch: TargetBatch, reason: str) -> pd.DataFrame:
    """Every payload and departure of the batch as `failed` with `reason`, carrying its record for replay:
    what a step records when Mailchimp is unreachable before the first write (nothing silently dropped)."""
    return answered(batch, FAILED, reason)


def answered(batch: TargetBatch, outcome: str, reason: str | None = None) -> pd.DataFrame:
    """The outcome rows of every payload and departure of a batch, all answered `outcome` (a departure
    is done when the writes succeed: `left_scope:<reason>`). For an unreachable Mailchimp (`failed`), and
    for tests and benchmarks that need the state a clean sync leaves (`created`)."""
    target, payloads = batch.target, batch.payloads
    records = member_records(payloads) if target == LIST_MEMBER else customer_records(payloads)
    answers = [WriteResult(r.key, target, k, outcome, None, None, reason, 0) for r, k in
               zip(records, payloads["target_key"], strict=True)]  # fmt: skip
    parts = [_frame([]), outcome_rows(records, answers, payloads["payload_hash"])]
    if len(batch.leaves):
        done = LEFT if outcome in SUCCESSFUL else outcome
        left, groups = leave_records(batch.leaves)
        parts += [
            leave_outcome_rows(r, WriteResult(r.key, target, r.target_key, done, None, None, reason, 0), rows)
            for r, rows in zip(left, groups, strict=True)
        ]
    return pd.concat(parts, ignore_index=True)


def combine_outcomes(decided: pd.DataFrame, *pushed: pd.DataFrame) -> pd.DataFrame:
    """The outcomes decided by the mapping and those of the pushes, in PUSHED_COLUMNS (payload None for
    decided ones): exactly one row per pulled AN8 × target when every payload was pushed."""
    decided = decided.copy()
    decided["payload"] = None
    parts = [
        decided.loc[:, list(PUSHED_COLUMNS)],
        *(p.loc[:, list(PUSHED_COLUMNS)] for p in pushed if len(p)),
    ]
    combined = pd.concat(parts, ignore_index=True)
    combined["an8"] = combined["an8"].astype(np.int64)
    return combined.sort_values(["an8", "target"], kind="stable", ignore_index=True)


@dataclass(frozen=True)
class Reconciliation:
    """Pulled AN8 × target pairs without an outcome, with several, and outcomes for AN8s not pulled."""

    missing: pd.DataFrame
    duplicated: pd.DataFrame
    unexpected: pd.DataFrame

    @property
    def ok(self) -> bool:
        return self.missing.empty and self.duplicated.empty and self.unexpected.empty

    def describe(self) -> str:
        """One line for logs and asset-check metadata."""
        if self.ok:
            return "every pulled party has exactly one outcome per target"
        return (
            f"{len(self.missing)} (AN8, target) without an outcome, {len(self.duplicated)} with several, "
            f"{len(self.unexpected)} outcomes for AN8s not pulled"
        )


def reconcile(
    pulled_an8s: Iterable[int] | np.ndarray,
    outcomes: pd.DataFrame,
    targets: Sequence[str] = TARGETS,
) -> Reconciliation:
    """Check that every pulled AN8 has exactly one outcome per target (docs/mapping.md)."""
    pulled = np.unique(np.fromiter(pulled_an8s, dtype=np.int64))
    expected = pd.MultiIndex.from_product([pulled, list(targets)], names=["an8", "target"])
    counts = outcomes.groupby([outcomes["an8"].astype(np.int64), outcomes["target"]]).size()
    missing = expected.difference(counts.index)
    duplicated = counts[counts > 1]
    unexpected = counts.index.difference(expected)
    return Reconciliation(
        missing=missing.to_frame(index=False),
        duplicated=duplicated.rename("count").reset_index(),
        unexpected=unexpected.to_frame(index=False),
    )


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(PUSHED_COLUMNS))
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame

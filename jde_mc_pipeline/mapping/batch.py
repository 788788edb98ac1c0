"""The entry point: map one batch of JDE frames to parties, payloads, outcomes, events and trail.

Every AN8 pulled (present in any of the six frames) ends, per target, either in `outcomes` (decided
here: quarantined, merged, unchanged, skipped, or rejected again without a call) or as the holder
(`key`) of exactly one payload row, never both and never neither; the sync adds the API outcome of
each payload row.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.addresses import jde_address_text
from jde_mc_pipeline.mapping.assemble import (
    EMAIL_INVALID,
    EMAIL_MISSING,
    EMAIL_OK,
    assemble_parties,
    pulled_an8s,
)
from jde_mc_pipeline.mapping.changes import EmptySyncedState, SyncedState
from jde_mc_pipeline.mapping.fold import fold_by_email
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS, MappingOptions
from jde_mc_pipeline.mapping.outcomes import (
    EVENT_EMAIL_COLLISION,
    LEFT_DELETED_IN_JDE,
    LEFT_NO_ROLE,
    MERGED,
    QUARANTINED_INVALID_EMAIL,
    QUARANTINED_INVALID_ROW,
    QUARANTINED_NO_EMAIL,
    REASON_HOLDER_PREFIX,
    REASON_NO_ADDRESS_BOOK_ROW,
    REASON_NO_ROLE,
    REASON_ROLE_NOT_ROUTED,
)
from jde_mc_pipeline.mapping.payloads import (
    CUSTOMER_COLUMNS,
    MEMBER_COLUMNS,
    customer_payloads,
    member_payloads,
)
from jde_mc_pipeline.mapping.peak_memory import release_free_heap
from jde_mc_pipeline.mapping.schemas import (
    EXTRACT_MODELS,
    CustomerPayloadFrame,
    LeaveFrame,
    MemberPayloadFrame,
    OutcomeFrame,
    PartyFrame,
    StructureError,
    validate_rows,
)
from jde_mc_pipeline.mapping.state_diff import (
    LEAVING_COLUMNS,
    OUTCOME_COLUMNS,
    diff_target,
    leave_frame,
    merged_target_key,
)
from jde_mc_pipeline.mapping.trail import (
    EVENT_COLUMNS,
    build_trail,
    concat_frames,
    events_frame,
    renumbered,
    trail_frame,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MappingResult:
    """What mapping one batch produced (all frames validated against their schemas)."""

    parties: pd.DataFrame
    """PartyFrame: one row per AN8 with an F0101 row and no invalid row."""
    members: pd.DataFrame
    """MemberPayloadFrame: list members to write."""
    customers: pd.DataFrame
    """CustomerPayloadFrame: e-commerce customers to write."""
    outcomes: pd.DataFrame
    """OutcomeFrame: outcomes decided here, one row per (AN8 × target) not written."""
    leaves: pd.DataFrame
    """LeaveFrame: parties leaving scope whose record gets the `on_leave` action (one row per AN8)."""
    events: pd.DataFrame
    """an8, target, event, detail: facts next to payloads and outcomes (address_incomplete, …)."""
    trail: pd.DataFrame
    """an8, target, field, source, source_value, mapped_value for every payload row sent."""
    failures: pd.DataFrame
    """table, an8, column, check, value: JDE rows that broke their contract (their AN8 is quarantined)."""
    pulled: np.ndarray
    """Every AN8 of the batch, sorted (the deleted ones given included)."""

    def payloads(self, target: str) -> pd.DataFrame:
        """The payload frame of a target."""
        return self.members if target == LIST_MEMBER else self.customers


def _outcomes(an8, target: str, outcome: str, reason, target_key=None) -> pd.DataFrame:
    an8 = np.asarray(an8, dtype=np.int64)
    reason = np.asarray(reason, dtype=object) if not isinstance(reason, str) else reason
    return pd.DataFrame(
        {
            "an8": an8,
            "target": target,
            "outcome": outcome,
            "reason": reason,
            "target_key": target_key,
            "payload_hash": None,
        }
    )


def map_batch(
    frames: dict[str, pd.DataFrame],
    options: MappingOptions | None = None,
    *,
    state: SyncedState | None = None,
    today: dt.date | None = None,
    with_trail: bool = True,
    timings: dict[str, float] | None = None,
    deleted: np.ndarray | list[int] = (),
) -> MappingResult:
    """Map the six JDE frames (jde/frames.py) to payloads and decided outcomes.

    `state` is the last synced state (empty when None); `today` picks the current F0116 address (pass
    it from the run's clock; default: today's UTC date). `deleted` are AN8s known to be gone from JDE
    (the scope reconciliation): they count as pulled and, when synced, leave scope. `timings`, when
    given, receives the seconds spent per stage (benchmarks and run metadata). Raises StructureError
    when a frame is broken.
    """
    stages = _StageEnds(timings)
    options = options or MappingOptions()
    state = state if state is not None else EmptySyncedState()
    today = today or dt.datetime.now(dt.UTC).date()
    missing = [name for name in EXTRACT_MODELS if name not in frames]
    if missing:
        raise StructureError(f"frames missing for tables: {', '.join(missing)}")

    valid, failures = {}, []
    for name, model in EXTRACT_MODELS.items():
        frame = frames[name] if frames[name].index.is_unique else frames[name].reset_index(drop=True)
        valid[name], bad = validate_rows(model, frame, name)
        failures.append(bad)
    stages.end("validate extracts")
    pulled = pulled_an8s({name: frame[["AN8"]] for name, frame in frames.items() if name in EXTRACT_MODELS})
    pulled = np.union1d(pulled, np.asarray(deleted, dtype=np.int64))
    parties = assemble_parties(valid, options, today)
    stages.end("assemble parties")
    parties, bad = validate_rows(PartyFrame, parties, "parties", an8_column="an8")
    failures = pd.concat([*failures, bad], ignore_index=True)
    bad_an8 = failures.loc[failures["an8"].fillna(0) > 0].drop_duplicates("an8")
    _warn_partyless(failures.loc[~(failures["an8"].fillna(0) > 0)])
    if len(bad_an8):
        parties = renumbered(parties.loc[~parties["an8"].isin(bad_an8["an8"].astype(np.int64))])
    stages.end("validate parties")
    orphans = np.setdiff1d(
        pulled, np.union1d(parties["an8"].to_numpy(), bad_an8["an8"].to_numpy(dtype=np.int64))
    )

    outcomes, events, trail, payloads, leaves = [], [], [], {}, []
    folds: dict[tuple[str, ...], tuple[pd.DataFrame, pd.DataFrame]] = {}
    for target in TARGETS:
        outcomes.append(
            _outcomes(
                bad_an8["an8"],
                target,
                QUARANTINED_INVALID_ROW,
                bad_an8["table"] + "." + bad_an8["column"] + ": " + bad_an8["check"],
            )
        )
        decided, sent, more_events, more_trail, left = _map_target(
            target, parties, options, state, with_trail, folds, pulled, orphans
        )
        outcomes += decided
        events += more_events
        trail += more_trail
        payloads[target] = sent
        leaves.append(left)
        stages.end(f"map {target}")
    folds.clear()  # the folded copies are not needed any more: free them before the frames are collected
    # pop: the column selection is a copy, so the frames selected from are dropped right away.
    members = MemberPayloadFrame.validate(payloads.pop(LIST_MEMBER)[list(MEMBER_COLUMNS)], inplace=True)
    customers = CustomerPayloadFrame.validate(
        payloads.pop(ECOMMERCE_CUSTOMER)[list(CUSTOMER_COLUMNS)], inplace=True
    )
    result_outcomes = OutcomeFrame.validate(concat_frames(outcomes, OUTCOME_COLUMNS), inplace=True)
    leaves = [frame for frame in leaves if len(frame)]
    result_leaves = LeaveFrame.validate(
        pd.concat(leaves, ignore_index=True) if leaves else leave_frame([]), inplace=True
    )
    stages.end("validate payloads, outcomes")
    result = MappingResult(
        parties=parties,
        members=members,
        customers=customers,
        outcomes=result_outcomes,
        leaves=result_leaves,
        events=concat_frames(events, EVENT_COLUMNS),
        trail=build_trail(trail),
        failures=failures,
        pulled=pulled,
    )
    stages.end("collect events and trail")
    return result


class _StageEnds:
    """What happens at the end of each mapping stage: its seconds go into a caller's dict (or nowhere),
    and the heap's free pages go back to the OS (peak_memory.py).

    The input frames' own garbage goes back at the start, so that it does not add to the batch's peak.
    """

    def __init__(self, timings: dict[str, float] | None) -> None:
        self._timings = timings
        release_free_heap()
        self._last = time.perf_counter()

    def end(self, stage: str) -> None:
        release_free_heap()
        now = time.perf_counter()
        if self._timings is not None:
            self._timings[stage] = now - self._last
        self._last = now


def _map_target(
    target: str,
    parties: pd.DataFrame,
    options: MappingOptions,
    state: SyncedState,
    with_trail: bool,
    folds: dict[tuple[str, ...], tuple[pd.DataFrame, pd.DataFrame]],
    pulled: np.ndarray,
    orphans: np.ndarray,
):
    """(decided outcomes, payload frame, events, trail, leaves) of one target.

    `folds` caches the e-mail fold and the holders per set of routed roles: with the default routing
    both targets fold the same parties, so the second one reuses the first one's work and memory.
    `orphans` are the AN8s pulled without an F0101 row (deleted in JDE, or given as deleted).
    """
    roles = options.roles_for(target)
    has_role = parties["is_customer"] | parties["is_vendor"]
    in_scope = np.zeros(len(parties), dtype=bool)
    for role in roles:
        in_scope |= parties[f"is_{role}"].to_numpy(dtype=bool)
    problem = parties["email_problem"]
    an8 = parties["an8"]
    leaving = pd.concat(
        [
            pd.DataFrame(
                {
                    "an8": an8[~in_scope].to_numpy(np.int64),
                    "leave_reason": LEFT_NO_ROLE,
                    "skip_reason": np.where(has_role[~in_scope], REASON_ROLE_NOT_ROUTED, REASON_NO_ROLE),
                }
            ),
            pd.DataFrame(
                {
                    "an8": orphans,
                    "leave_reason": LEFT_DELETED_IN_JDE,
                    "skip_reason": REASON_NO_ADDRESS_BOOK_ROW,
                }
            ),
        ],
        ignore_index=True,
    ).loc[:, list(LEAVING_COLUMNS)]
    decided = [
        _outcomes(an8[in_scope & (problem == EMAIL_MISSING)], target, QUARANTINED_NO_EMAIL, ""),
        _outcomes(
            an8[in_scope & (problem == EMAIL_INVALID)],
            target,
            QUARANTINED_INVALID_EMAIL,
            parties.loc[in_scope & (problem == EMAIL_INVALID), "email_source"],
        ),
    ]
    trail = []
    if with_trail:
        quarantined = in_scope & (problem != EMAIL_OK)
        trail.append(
            trail_frame(
                an8[quarantined],
                target,
                "email_address",
                "F01151.EMAL",
                parties.loc[quarantined, "email_source"],
                np.full(int(quarantined.sum()), None),
            )
        )
    if roles not in folds:
        sendable = renumbered(parties.loc[in_scope & (problem == EMAIL_OK)])
        folded = fold_by_email(sendable, ["is_customer", "is_vendor"])
        holders = renumbered(folded.loc[folded["an8"] == folded["holder"]])
        if with_trail:
            holders["jde_address"] = jde_address_text(holders)
        folds[roles] = (folded, holders)
    folded, holders = folds[roles]
    is_holder = folded["an8"] == folded["holder"]
    others = folded.loc[~is_holder]
    decided.append(
        _outcomes(
            others["an8"],
            target,
            MERGED,
            REASON_HOLDER_PREFIX + others["holder"].astype(str),
            merged_target_key(others["email"]),
        )
    )
    shared = folded.loc[folded["group_size"] > 1]
    events = [events_frame(shared["an8"], target, EVENT_EMAIL_COLLISION, "shared by " + shared["group_an8s"])]
    if target == LIST_MEMBER:
        built, more_events, more_trail = member_payloads(holders, options, roles, with_trail)
    else:
        built, more_events, more_trail = customer_payloads(holders, options, with_trail)
    diff = diff_target(target, built, state, options, roles, pulled, leaving)
    decided.append(diff.decided)
    if with_trail and len(diff.decided):
        more_trail = [part.without(diff.decided["an8"]) for part in more_trail]
    return decided, diff.sent, [*events, more_events, diff.events], [*trail, *more_trail], diff.leaves


def _warn_partyless(failures: pd.DataFrame) -> None:
    """Rows whose AN8 is null or not positive name no party, so no outcome can carry them: say so in the
    run's log (`result.failures` holds them), or they would leave the sync without a word."""
    if failures.empty:
        return
    where = failures["table"].astype(str) + "." + failures["column"].astype(str)
    samples = ", ".join(
        f"{name} {sorted({str(v) for v in group['value']})[:5]}"
        for name, group in failures.groupby(where, sort=True)
    )
    log.warning("JDE rows that name no party (AN8 null or not positive), not synced: %s; rows: %d",
                samples, len(failures))  # fmt: skip

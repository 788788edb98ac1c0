"""The last synced state applied to freshly built payloads: what each record becomes in Mailchimp.

Why per record and not per AN8: Mailchimp holds one member and one customer per e-mail, and several
AN8s can share one (docs/mapping.md). The state (mapping/changes.py) knows every record the connector
wrote, its holder and every AN8 folded into it, so for each payload row (one e-mail, its holder and its
group of AN8s) the diff finds:
- the record that already holds the row's e-mail (`rec`), if any: the row updates it;
- the records the group's AN8s held before under another e-mail (`priors`). A prior is *free* when no
  group of this batch claims its e-mail and every AN8 folded into it was pulled (so none still uses it).
  Each free prior belongs to one row (the one holding its holder, else the first): members rename it
  onto the new e-mail when no record holds that e-mail yet, otherwise it is *retired* (its owned tags
  set inactive after the write; `on_leave=none` leaves it as it is); customers retire it (deleted
  after the new customer is written: nothing is destroyed before its replacement exists).
- A customer record kept under a legacy id (the AN8, before ids were the e-mail's hash) is retired
  the same way: the client deletes it to free the e-mail (one customer per e-mail) and writes the new id.
Owned tags the record had active and the group no longer earns go inactive (`role_lost`). A row whose
hash, holder and group equal its record's, with nothing to retire or untag, is `unchanged`; a row whose
hash equals the one Mailchimp last refused for good is `rejected:<title>` again, unsent.

Parties leaving scope (`leaving`: pulled, synced before, now without a role routed to the target, or
deleted in JDE) end `left_scope:<reason>`: when another party keeps their record (it is claimed or
renamed by a group of this batch, or folds in AN8s not pulled), only their role tags go, through that
group's write; otherwise the record gets the `on_leave` action (a row of `leaves`, sent by the sync).
A leaving party that holds no record but whose departure was applied before is `unchanged`; one that
was never synced is `skipped:out_of_scope` with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.changes import SyncedState, email_hash
from jde_mc_pipeline.mapping.options import LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import (
    EVENT_CUSTOMER_MOVED,
    EVENT_EMAIL_TAKEN,
    EVENT_OLD_EMAIL_SHARED,
    EVENT_OLD_MEMBER_LEFT,
    EVENT_ROLE_LOST,
    LEFT_SCOPE_PREFIX,
    REASON_LEFT_BEFORE,
    REASON_REFUSED_BEFORE,
    REJECTED_PREFIX,
    SKIPPED_OUT_OF_SCOPE,
    UNCHANGED,
)
from jde_mc_pipeline.mapping.payloads import object_lookup, tag_sets
from jde_mc_pipeline.mapping.trail import EVENT_COLUMNS, concat_frames, events_frame, renumbered

OUTCOME_COLUMNS: tuple[str, ...] = ("an8", "target", "outcome", "reason", "target_key", "payload_hash")
LEAVE_COLUMNS: tuple[str, ...] = (
    "an8",
    "target",
    "target_key",
    "email_address",
    "action",
    "tags_inactive",
    "reason",
    "holder",
)
"""One row per leaving AN8 whose record gets the `on_leave` action (one Mailchimp call per record)."""
LEAVING_COLUMNS: tuple[str, ...] = ("an8", "leave_reason", "skip_reason")
"""The AN8s pulled out of scope for a target: why they would leave, and why they are skipped otherwise."""
RECORD_KEPT = "kept"
"""The `action` of a leaving party whose record another party keeps."""


@dataclass(frozen=True)
class Diff:
    """What the state makes of one target's payloads and leaving parties."""

    sent: pd.DataFrame
    """The payload rows to write, with previous_email, retires and tags_inactive filled."""
    decided: pd.DataFrame
    """OUTCOME_COLUMNS: unchanged, rejected again, left_scope (kept by others), skipped."""
    events: pd.DataFrame
    leaves: pd.DataFrame
    """LEAVE_COLUMNS: the departures the sync applies to Mailchimp."""


@dataclass
class _Records:
    """The state rows the batch touches, with who claims or consumes each."""

    frame: pd.DataFrame
    claimed: np.ndarray
    """Per record: a payload row of this batch holds its e-mail."""
    free: np.ndarray
    """Per record: not claimed, and every AN8 folded into it was pulled."""
    owner: np.ndarray
    """Per record: the payload row it is a prior of and belongs to (-1: none)."""
    rec: np.ndarray
    """Per payload row: the record holding its e-mail (-1: none)."""


def diff_target(
    target: str,
    payloads: pd.DataFrame,
    state: SyncedState,
    options: MappingOptions,
    roles: tuple[str, ...],
    pulled: np.ndarray,
    leaving: pd.DataFrame,
) -> Diff:
    """Apply the state to one target's payload rows (module doc); `pulled`: every AN8 of the batch."""
    an8 = payloads["key"].astype(np.int64).to_numpy()
    groups = [tuple(int(a) for a in text.split(",")) for text in payloads["an8s"]]
    wanted = np.fromiter((a for group in groups for a in group), np.int64)
    found = state.records(
        target,
        np.concatenate([wanted, leaving["an8"].to_numpy(np.int64)]),
        payloads["email_address"].to_numpy(dtype=object),
    )
    records = _touched(found, payloads, groups, pulled)
    events: list[pd.DataFrame] = []
    plan = _plan(target, payloads, groups, records, options, events)
    payloads = payloads.copy(deep=False)
    payloads["previous_email"] = plan.previous
    payloads["retires"] = plan.retires
    same = plan.same
    if target == LIST_MEMBER:
        same &= ~_lost_tags(payloads, plan.base_tags, options, roles, events, an8)
        retiring = np.fromiter((bool(keys) for keys in plan.retires), bool, len(payloads))
        payloads["retire_tags"] = _retire_tags(options, roles, retiring, plan.retired_tags)
    digest = payloads["payload_hash"].to_numpy(dtype=object)
    target_key = payloads["target_key"].to_numpy(dtype=object)
    unchanged = pd.DataFrame(
        {
            "an8": an8[same],
            "target": target,
            "outcome": UNCHANGED,
            "reason": "",
            "target_key": target_key[same],
            "payload_hash": digest[same],
        }
    )
    again, refused = _refused_before(state, target, an8, digest, target_key, ~same)
    left, leaves = _leaving(target, leaving, records, state, options)
    return Diff(
        sent=renumbered(payloads.loc[~same & ~again]),
        decided=concat_frames([unchanged, refused, left], OUTCOME_COLUMNS),
        events=concat_frames(events, EVENT_COLUMNS),
        leaves=leaves,
    )


def _touched(found: pd.DataFrame, payloads: pd.DataFrame, groups: list[tuple[int, ...]], pulled) -> _Records:
    """The state rows found, with claim, freedom and ownership (module doc)."""
    found = found.reset_index(drop=True)
    claimed = found["email"].isin(set(payloads["email_address"])).to_numpy(dtype=bool)
    members = {int(a) for a in pulled}
    whole = pd.Series([all(a in members for a in group) for group in found["an8s"]], dtype=bool)
    # Free per e-mail: an old store may hold one member under several AN8s, each a row of its own.
    free = ~claimed & whole.groupby(found["email"].to_numpy()).transform("all").to_numpy(dtype=bool)
    owner = np.full(len(found), -1, dtype=np.int64)
    if len(found):
        by_an8: dict[int, list[int]] = {}
        for row, group in enumerate(groups):
            for a in group:
                by_an8.setdefault(a, []).append(row)
        for i, (holder, group) in enumerate(zip(found["an8"], found["an8s"], strict=True)):
            rows = sorted({row for a in group for row in by_an8.get(int(a), ())})
            if rows and not claimed[i]:
                own = [row for row in rows if int(holder) in groups[row]]
                owner[i] = own[0] if own else rows[0]
    rec = np.full(len(payloads), -1, dtype=np.int64)
    by_email: dict[str, list[int]] = {}
    for i, email in enumerate(found["email"]):
        by_email.setdefault(email, []).append(i)
    holders = found["an8"].to_numpy(np.int64)
    for row, email in enumerate(payloads["email_address"]):
        candidates = by_email.get(email)
        if candidates:  # an old store may hold one e-mail under several AN8s: the group's own first
            own = [i for i in candidates if int(holders[i]) in groups[row]]
            rec[row] = (own or sorted(candidates, key=lambda i: holders[i]))[0]
    return _Records(found, claimed, free, owner, rec)


@dataclass
class _Plan:
    """Per payload row: the e-mail renamed from, the record keys retired, the record's tags, unchanged."""

    previous: np.ndarray
    retires: np.ndarray
    base_tags: np.ndarray
    same: np.ndarray
    retired_tags: np.ndarray
    """Per payload row: the tags the records it retires had active (their segment tags go too)."""


def _plan(
    target: str,
    payloads: pd.DataFrame,
    groups: list[tuple[int, ...]],
    records: _Records,
    options: MappingOptions,
    events: list[pd.DataFrame],
) -> _Plan:
    """What each payload row does with the records it touches (module doc)."""
    n = len(payloads)
    plan = _Plan(
        previous=np.full(n, None, dtype=object),
        retires=object_lookup([()])[np.zeros(n, dtype=np.int64)],
        base_tags=object_lookup([()])[np.zeros(n, dtype=np.int64)],
        same=np.zeros(n, dtype=bool),
        retired_tags=object_lookup([()])[np.zeros(n, dtype=np.int64)],
    )
    found, rec = records.frame, records.rec
    priors: dict[int, list[int]] = {}
    for i, row in enumerate(records.owner):
        if row >= 0:
            priors.setdefault(int(row), []).append(i)
    keys, emails = found["target_key"].to_numpy(object), found["email"].to_numpy(object)
    hashes, holders = found["payload_hash"].to_numpy(object), found["an8"].to_numpy(np.int64)
    tags, record_groups = found["tags"].to_numpy(object), found["an8s"].to_numpy(object)
    an8 = payloads["key"].astype(np.int64).to_numpy()
    email = payloads["email_address"].to_numpy(object)
    digest, target_key = payloads["payload_hash"].to_numpy(object), payloads["target_key"].to_numpy(object)
    member = target == LIST_MEMBER
    retiring = not member or options.on_leave != "none"
    noted: dict[str, list[tuple[int, str]]] = {}
    kept_by = {int(a): int(i) for i in np.flatnonzero(records.claimed) for a in record_groups[i]}
    for row, group in enumerate(groups):  # AN8s leaving a record that another group keeps
        for a in group:
            i = kept_by.get(a)
            if i is not None and i != rec[row] and emails[i] != email[row]:
                noted.setdefault(EVENT_OLD_EMAIL_SHARED, []).append((a, emails[i]))
    for row in sorted(set(np.flatnonzero(rec >= 0).tolist()) | set(priors)):
        r = int(rec[row])
        own = [i for i in priors.get(row, []) if records.free[i]]
        for i in priors.get(row, []):
            mover = int(holders[i]) if int(holders[i]) in groups[row] else int(an8[row])
            if not records.free[i]:
                noted.setdefault(EVENT_OLD_EMAIL_SHARED, []).append((mover, emails[i]))
            elif r >= 0:
                noted.setdefault(EVENT_EMAIL_TAKEN, []).append((mover, f"held by {holders[r]}"))
        olds = list(own)
        if r >= 0:
            plan.base_tags[row] = tags[r]
            if not member and keys[r] != target_key[row]:
                noted.setdefault(EVENT_CUSTOMER_MOVED, []).append((int(an8[row]), f"from id {keys[r]}"))
                olds.append(r)
        elif own and member:
            first = next((i for i in own if holders[i] == an8[row]), own[0])
            plan.previous[row], plan.base_tags[row] = emails[first], tags[first]
            olds.remove(first)
        if not member:
            changed = [i for i in own if emails[i] != email[row]]
            plan.previous[row] = emails[changed[0]] if changed else None
        else:
            noted.setdefault(EVENT_OLD_MEMBER_LEFT, []).extend((int(an8[row]), emails[i]) for i in olds)
        plan.retires[row] = tuple(keys[i] for i in olds) if retiring else ()
        if olds and options.segment_fields:
            plan.retired_tags[row] = tuple(dict.fromkeys(tag for i in olds for tag in tags[i]))
        plan.same[row] = bool(
            r >= 0
            and not olds
            and plan.previous[row] is None
            and hashes[r] == digest[row]
            and holders[r] == an8[row]
            and sorted(record_groups[r]) == sorted(groups[row])
            and keys[r] == target_key[row]
        )
    for event, rows in noted.items():
        if rows:
            events.append(events_frame([a for a, _ in rows], target, event, [d for _, d in rows]))
    return plan


def _retire_tags(options: MappingOptions, roles, retiring: np.ndarray, had: np.ndarray) -> np.ndarray:
    """Per row, the tags set inactive on the members it retires: the role tags, and with segment fields
    the segment tags those members had (so a contact left behind does not stay in a segment)."""
    role_tags = tag_sets(options, roles)[-1]
    chosen = object_lookup([(), role_tags])[retiring.astype(np.int64)]
    if options.segment_fields:
        for row in np.flatnonzero(retiring):
            extra = tuple(t for t in had[row] if options.owns_tag(t) and t not in role_tags)
            chosen[row] = role_tags + extra
    return chosen


def _lost_tags(payloads, base_tags, options, roles, events, an8) -> np.ndarray:
    """Owned tags the record had active and the group no longer earns → `tags_inactive`; the mask of
    rows that lose one. A lost role tag is a `role_lost` event; a segment tag replaced by another (its
    code changed) is not: the field trail shows the change. The marketer's own tags are never listed."""
    if not options.segment_fields:
        owned = {options.tag_for(role): i for i, role in enumerate(roles)}
        codes, distinct = pd.factorize(base_tags)
        masks = np.array(
            [sum(1 << owned[tag] for tag in tags if tag in owned) for tags in distinct] + [0], np.int64
        )
        lost = masks[codes] & ~payloads["role_mask"].to_numpy(dtype=np.int64)
        sets = tag_sets(options, roles)
        payloads["tags_inactive"] = object_lookup(sets)[lost]
        has_lost = lost != 0
        names = np.array([", ".join(tags) for tags in sets], dtype=object)
        events.append(events_frame(an8[has_lost], LIST_MEMBER, EVENT_ROLE_LOST, names[lost[has_lost]]))
        return has_lost
    known: dict[tuple, tuple[tuple[str, ...], str]] = {}
    inactive = np.empty(len(payloads), dtype=object)
    role_tags = set(options.owned_tags)
    lost_roles = np.empty(len(payloads), dtype=object)
    for row, pair in enumerate(zip(base_tags, payloads["tags_active"], strict=True)):
        found = known.get(pair)
        if found is None:
            gone = tuple(tag for tag in pair[0] if options.owns_tag(tag) and tag not in pair[1])
            found = known.setdefault(pair, (gone, ", ".join(tag for tag in gone if tag in role_tags)))
        inactive[row], lost_roles[row] = found
    payloads["tags_inactive"] = inactive
    has_lost = np.fromiter((bool(tags) for tags in inactive), bool, len(inactive))
    role_lost = lost_roles != ""
    events.append(events_frame(an8[role_lost], LIST_MEMBER, EVENT_ROLE_LOST, lost_roles[role_lost]))
    return has_lost


def _refused_before(
    state: SyncedState,
    target: str,
    an8: np.ndarray,
    digest: np.ndarray,
    target_key: np.ndarray,
    candidates: np.ndarray,
) -> tuple[np.ndarray, pd.DataFrame]:
    """(mask of the rows whose payload Mailchimp refused for good last time, their outcome rows)."""
    remembered = state.last_rejected(target, an8[candidates])
    on_row = pd.DataFrame({"an8": an8}).merge(remembered, on="an8", how="left")
    again = candidates & (on_row["payload_hash"].to_numpy(dtype=object) == digest)
    runs = on_row["run_id"].to_numpy(dtype=object)[again]
    refused = pd.DataFrame(
        {
            "an8": an8[again],
            "target": target,
            "outcome": REJECTED_PREFIX + on_row["title"].to_numpy(dtype=object)[again],
            "reason": [
                REASON_REFUSED_BEFORE.format(run_id=run if isinstance(run, str) else "?") for run in runs
            ],
            "target_key": target_key[again],
            "payload_hash": digest[again],
        }
    )
    return again, refused


def _leaving(
    target: str, leaving: pd.DataFrame, records: _Records, state: SyncedState, options: MappingOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decided outcomes, leave rows) of the AN8s pulled out of scope for this target (module doc)."""
    found = records.frame
    record_of: dict[int, int] = {}
    for i, group in enumerate(found["an8s"]):
        for a in group:
            record_of.setdefault(int(a), i)
    decided, leaves, never = [], [], []
    member = target == LIST_MEMBER
    action = options.on_leave if member else ("archive" if options.on_leave == "archive" else "none")
    for a, why, skip in leaving.loc[:, list(LEAVING_COLUMNS)].itertuples(index=False):
        i = record_of.get(int(a))
        if i is None:
            never.append((int(a), skip, why))
            continue
        key, email, holder = found.at[i, "target_key"], found.at[i, "email"], int(found.at[i, "an8"])
        if records.owner[i] >= 0 or not records.free[i]:
            decided.append(
                (int(a), LEFT_SCOPE_PREFIX + why, f"{RECORD_KEPT}: the record {key} stays with the parties "
                 "still using it; this party's role tags go with their update", key)
            )  # fmt: skip
            continue
        tags = tuple(found.at[i, "tags"]) if member and action == "untag" else ()
        leaves.append((int(a), target, key, email, action, tags, why, holder))
    decided_frame = pd.DataFrame(
        [(a, target, outcome, reason, key, None) for a, outcome, reason, key in decided],
        columns=list(OUTCOME_COLUMNS),
    )
    return concat_frames([decided_frame, _never_or_before(target, never, state)], OUTCOME_COLUMNS), (
        leave_frame(leaves)
    )


def _never_or_before(target: str, never: list[tuple[int, str, str]], state: SyncedState) -> pd.DataFrame:
    """Leaving AN8s that hold no record: `unchanged` when their departure was applied before, else
    `skipped:out_of_scope` with the reason they were never sent."""
    if not never:
        return pd.DataFrame(columns=list(OUTCOME_COLUMNS))
    before = state.departed(target, [a for a, _, _ in never]).set_index("an8")
    rows = []
    for a, skip, _ in never:
        if a in before.index:
            gone = before.loc[a]
            reason = REASON_LEFT_BEFORE.format(run_id=gone["run_id"] or "?", reason=gone["reason"],
                                               action=gone["action"])  # fmt: skip
            rows.append((a, target, UNCHANGED, reason, None, None))
        else:
            rows.append((a, target, SKIPPED_OUT_OF_SCOPE, skip, None, None))
    return pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))


def leave_frame(rows: list[tuple]) -> pd.DataFrame:
    """A LEAVE_COLUMNS frame (an8 int64, tags_inactive tuples)."""
    frame = pd.DataFrame(rows, columns=list(LEAVE_COLUMNS))
    frame["an8"] = frame["an8"].astype(np.int64)
    frame["holder"] = frame["holder"].astype(np.int64)
    return frame


def merged_target_key(emails: pd.Series) -> np.ndarray:
    """The record key of merged parties (their e-mail's hash), so the audit maps every AN8 to its record."""
    return np.array([email_hash(email) for email in emails], dtype=object)

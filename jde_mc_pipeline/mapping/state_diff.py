"""Applying the last synced state to freshly built payloads (mapping.md §3 e-mail change, tags, §5 unchanged).

Members: an AN8 whose synced e-mail differs from today's is renamed (`previous_email`), unless the new
e-mail already belongs to another AN8's member (then that member is upserted and the old one left:
`email_taken` + `old_member_left`) or the old e-mail is still someone else's (another party of this
batch uses it, or another AN8 holds it in the state: `old_email_shared`, no rename). Owned tags the
holder's synced record had active and the party no longer earns are sent inactive (`role_lost`).
Customers: an e-mail change sets `previous_email` (delete and re-create under the same id); a new e-mail
another AN8's customer holds is recorded as `email_taken` (Mailchimp will refuse it; see docs).
A row whose hash equals the synced one (same e-mail, no tag to remove) is `unchanged` and not sent;
a row whose hash equals the one Mailchimp last refused for good is `rejected:<title>` and not sent
either (mapping.md §5: not retried; any change of the payload sends it again).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.changes import SyncedState
from jde_mc_pipeline.mapping.options import LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import (
    EVENT_EMAIL_TAKEN,
    EVENT_OLD_EMAIL_SHARED,
    EVENT_OLD_MEMBER_LEFT,
    EVENT_ROLE_LOST,
    REASON_REFUSED_BEFORE,
    REJECTED_PREFIX,
    UNCHANGED,
)
from jde_mc_pipeline.mapping.payloads import object_lookup, tag_sets
from jde_mc_pipeline.mapping.trail import events_frame, renumbered


def _others_holding(state: SyncedState, target: str, an8: np.ndarray, emails: np.ndarray) -> np.ndarray:
    """Per row: the other AN8s ("," joined, "" if none) that hold `emails[i]` in the state."""
    result = np.full(len(an8), "", dtype=object)
    if not len(an8):
        return result
    holders = state.holders_of(target, pd.unique(emails))
    if holders.empty:
        return result
    pairs = pd.DataFrame({"row": np.arange(len(an8)), "self": an8, "email": emails}).merge(
        holders[["an8", "email"]], on="email"
    )
    pairs = pairs.loc[pairs["an8"] != pairs["self"]].sort_values(["row", "an8"])
    if pairs.empty:
        return result
    joined = pairs.groupby("row")["an8"].agg(lambda an8s: ",".join(map(str, an8s)))
    result[joined.index.to_numpy()] = joined.to_numpy()
    return result


def apply_state(
    target: str,
    payloads: pd.DataFrame,
    state: SyncedState,
    options: MappingOptions,
    roles: tuple[str, ...],
    batch_emails: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(payloads to send, `unchanged` and `rejected:<title>` outcomes, events); `batch_emails` = e-mails
    of all parties pulled."""
    an8 = payloads["key"].astype(np.int64).to_numpy()
    synced = state.last_synced(target, an8)
    merged = pd.DataFrame({"an8": an8}).merge(synced, on="an8", how="left")
    email = payloads["email_address"].to_numpy(dtype=object)
    old = merged["email"].to_numpy(dtype=object)
    changed = pd.notna(old) & (old != email)
    events = []

    idx = np.flatnonzero(changed)
    taken = np.full(len(an8), "", dtype=object)
    taken[idx] = _others_holding(state, target, an8[idx], email[idx])
    rename = changed & (taken == "")
    events.append(events_frame(an8[taken != ""], target, EVENT_EMAIL_TAKEN, "held by " + taken[taken != ""]))

    payloads = payloads.copy(deep=False)
    if target == LIST_MEMBER:
        left = changed & (taken != "")
        events.append(events_frame(an8[left], target, EVENT_OLD_MEMBER_LEFT, old[left]))
        shared_in_batch = (
            pd.Series(old, dtype=object).isin(set(batch_emails[batch_emails != ""])).to_numpy() & rename
        )
        shared_in_state = np.zeros(len(an8), dtype=bool)
        shared_in_state[idx] = _others_holding(state, target, an8[idx], old[idx].astype(object)) != ""
        shared = rename & (shared_in_batch | shared_in_state)
        events.append(events_frame(an8[shared], target, EVENT_OLD_EMAIL_SHARED, old[shared]))
        rename &= ~shared
        payloads = _lost_tags(payloads, merged, rename | ~changed, options, roles, events, an8)
    payloads["previous_email"] = np.where(rename, old, None)

    same = (
        merged["payload_hash"].to_numpy(dtype=object) == payloads["payload_hash"].to_numpy(dtype=object)
    ) & ~changed
    if target == LIST_MEMBER:
        same &= payloads["tags_inactive"].map(len).to_numpy() == 0
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
    decided = pd.concat([unchanged, refused], ignore_index=True)
    return renumbered(payloads.loc[~same & ~again]), decided, pd.concat(events, ignore_index=True)


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


def _lost_tags(payloads, merged, carries, options, roles, events, an8) -> pd.DataFrame:
    """Owned tags active in the synced record (when it carries over) and no longer earned → inactive."""
    owned = {options.tag_for(role): i for i, role in enumerate(roles)}
    codes, distinct = pd.factorize(merged["tags"].to_numpy(dtype=object))
    masks = np.array(
        [sum(1 << owned[tag] for tag in tags if tag in owned) for tags in distinct] + [0], np.int64
    )
    synced_mask = masks[codes]  # code -1 (no synced row) picks the trailing 0
    lost = np.where(carries, synced_mask & ~payloads["role_mask"].to_numpy(dtype=np.int64), 0)
    sets = tag_sets(options, roles)
    payloads["tags_inactive"] = object_lookup(sets)[lost]
    has_lost = lost != 0
    names = np.array([", ".join(tags) for tags in sets], dtype=object)
    events.append(events_frame(an8[has_lost], LIST_MEMBER, EVENT_ROLE_LOST, names[lost[has_lost]]))
    return payloads

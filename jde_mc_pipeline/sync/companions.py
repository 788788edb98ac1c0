"""Pull, with the parties that changed, every party that shares a record with them (docs/mapping.md).

Why: several AN8s sharing an e-mail are one member and one customer, whose fields come from the most
recently changed AN8 and whose tags are the union of their roles. A run that pulled only the AN8 that
changed would decide from half of the group: the merged party would become the "winner", a role held
by the other would be dropped. The synced state knows every record's group (holder and merged AN8s)
and which record holds each e-mail, so after the window is read, the AN8s of every record that folds in
a pulled party, or holds one of the pulled parties' e-mails (their current F01151 addresses, so a
party moving onto another record's e-mail brings that record's group too), are read as well; their
own e-mails may reach further records, so it repeats until nothing new comes (a few rounds at most).

The same pull moves customers kept under a legacy id (the AN8, before ids were the e-mail's hash):
their parties join the next run, which writes them under the new id (ecommerce.py).

The same pull brings the parties whose records a drift run marked for a repair (`JDE_MC_RESEND_DRIFTED`,
audit/drift.py `resend_an8s`): the synced state then shows their records without a payload hash, so the
mapping writes their owned fields again, and the state's advance resolves the findings.

A companion read back without any row is gone from JDE (a purge leaves no trace): the synced state
still folds it into the record the run rewrites, so it is returned as `deleted`, for the mapping to end
it `left_scope:deleted_in_jde` in this run (docs/mapping.md, "Leaving scope"). Left out, the record
would be rewritten without it and no later run, the scope reconciliation included, would know it.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.drift import resend_an8s
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import read_parties
from jde_mc_pipeline.mapping.changes import SyncedState
from jde_mc_pipeline.mapping.options import TARGETS

log = logging.getLogger(__name__)
MAX_ROUNDS = 10
"""A chain of shared e-mails longer than this is cut (logged): the next change of its parties goes on."""


def companion_an8s(
    state: SyncedState, an8s: np.ndarray, frames: dict[str, pd.DataFrame], targets=TARGETS
) -> np.ndarray:
    """The AN8s not among `an8s` that share a record with them, or hold one of their e-mails."""
    emails = _current_emails(frames.get("F01151"))
    found: set[int] = set()
    for target in targets:
        records = state.records(target, an8s, emails)
        for group in records["an8s"]:
            found.update(int(a) for a in group)
        found.update(int(a) for a in records["an8"])
    return np.setdiff1d(np.fromiter(found, np.int64, len(found)), np.asarray(an8s, dtype=np.int64))


class Companions(NamedTuple):
    """The frames with their companions' rows, and which companions were asked for."""

    frames: dict[str, pd.DataFrame]
    added: np.ndarray
    """The AN8s read besides the frames' own (companions and `extra`), deleted ones included."""
    deleted: np.ndarray
    """The AN8s of `added` of which JDE returned no row at all (module doc)."""


def with_companions(
    client: AisClient, state: SyncedState, frames: dict[str, pd.DataFrame], extra: np.ndarray | None = None
) -> Companions:
    """`frames` plus the full rows of their companions (and of `extra` AN8s)."""
    pulled = _an8s(frames)
    store = getattr(state, "store", None)
    repairs = sorted(resend_an8s(store)) if store is not None else []
    asked = np.union1d(np.asarray(extra if extra is not None else [], dtype=np.int64), repairs)
    wanted = np.setdiff1d(asked.astype(np.int64), pulled)
    added: list[np.ndarray] = []
    deleted: list[np.ndarray] = []
    for _ in range(MAX_ROUNDS):
        new = np.union1d(wanted, companion_an8s(state, pulled, frames))
        new = np.setdiff1d(new, pulled)
        if not len(new):
            break
        more = read_parties(client, new.tolist())
        frames = {name: _concat(frame, more[name]) for name, frame in frames.items()}
        pulled = np.union1d(pulled, new)
        added.append(new)
        deleted.append(np.setdiff1d(new, _an8s(more)))
        wanted = np.array([], dtype=np.int64)
    else:
        log.warning(
            "shared e-mails chain past %d rounds: the rest is pulled by their next change", MAX_ROUNDS
        )
    return Companions(frames, _joined(added), _joined(deleted))


def _current_emails(frame: pd.DataFrame | None) -> np.ndarray:
    """The pulled parties' e-mail addresses as the state stores them (trimmed, lower-cased)."""
    if frame is None or frame.empty:
        return np.array([], dtype=object)
    own = frame.loc[(frame["IDLN"].fillna(0) == 0) & (frame["ETP"].str.strip().str.upper() == "E"), "EMAL"]
    emails = own.astype(str).str.strip().str.lower()
    return pd.unique(emails[emails != ""].to_numpy(dtype=object))


def _an8s(frames: dict[str, pd.DataFrame]) -> np.ndarray:
    parts = [frame["AN8"].dropna().astype(np.int64).to_numpy() for frame in frames.values() if len(frame)]
    return np.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.array([], dtype=np.int64)


def _concat(frame: pd.DataFrame, more: pd.DataFrame) -> pd.DataFrame:
    if more.empty:
        return frame
    if frame.empty:
        return more
    return pd.concat([frame, more], ignore_index=True)

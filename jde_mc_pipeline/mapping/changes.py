"""Change detection against the last synced state: what Mailchimp holds per record, and who holds it.

The state is what the last *successful* write of each record left in Mailchimp, one row per record
(list member or e-commerce customer), owned by its holder AN8: the key it used (subscriber hash or
customer id, both the MD5 of the lower-cased e-mail), the e-mail, the payload hash, for members the
owned tags it set active, and the group: every AN8 folded into the record (the holder first). Only
the holder has a row; AN8s merged into it appear in its group, never with a row of their own, so they
can never rename or untag someone else's record, and yet the state knows every AN8 that shares an
e-mail (extraction pulls them together, docs/mapping.md).

`SyncedState` is the interface; the audit store keeps it in DuckDB (audit/state.py). The hash is the
MD5 of the payload's canonical JSON (sorted keys, no blanks, UTF-8), over the fields that describe the
desired state (members: email_address, merge_fields, status_if_new, tags_active; tags_inactive,
previous_email and the records it retires are derived from the state, so they stay out).

The state also remembers, per (target, AN8), the hash and title of the last payload Mailchimp refused
for good (`last_rejected`): the same payload would be refused again, so the mapping decides
`rejected:<title>` for it without an API call (docs/mapping.md: not retried), while a changed payload is
sent again. And the AN8s whose departure (leaving scope) was applied (`departed`): pulled again while
still out of scope, they are `unchanged`, nothing is sent twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.canonical import canonical

STATE_COLUMNS: tuple[str, ...] = ("an8", "target_key", "email", "payload_hash", "tags", "an8s")
REJECTION_COLUMNS: tuple[str, ...] = ("an8", "payload_hash", "title", "run_id")
DEPARTURE_COLUMNS: tuple[str, ...] = ("an8", "reason", "action", "run_id")


def payload_hash(record: dict) -> str:
    """The hash of one payload record: MD5 hex of its canonical JSON (the column-wise builder's reference)."""
    return hashlib.md5(canonical(record).encode("utf-8")).hexdigest()


def email_hash(email: str) -> str:
    """MD5 hex of the lower-cased e-mail: a member's subscriber hash and a customer's id (docs/mapping.md)."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


def email_hashes(emails: Iterable[str]) -> np.ndarray:
    """`email_hash` of each e-mail, as an object array."""
    return np.array([email_hash(email) for email in emails], dtype=object)


class SyncedState(Protocol):
    """What the last successful sync of each record left in Mailchimp, and what was refused or left."""

    def records(
        self, target: str, an8s: Sequence[int] | np.ndarray, emails: Sequence[str] | np.ndarray = ()
    ) -> pd.DataFrame:
        """Rows (STATE_COLUMNS) of the records of this target held by, or folding in, one of these AN8s,
        or holding one of these e-mails, and every other row holding the e-mail of one of those (a store
        written before groups were recorded may hold one e-mail under several AN8s).

        `an8` (the holder) int64; `target_key`, `email`, `payload_hash` str; `tags` a tuple of the owned
        tags active; `an8s` a tuple of the ints folded into the record (the holder included).
        """
        ...

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """Rows (REJECTION_COLUMNS) for those of these AN8s whose last payload of this target Mailchimp
        refused for good and that no successful write has followed since.

        `an8` int64; `payload_hash` the refused payload's hash; `title` Mailchimp's title (the part
        after `rejected:`); `run_id` the run that was refused (None when unknown).
        """
        ...

    def departed(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """Rows (DEPARTURE_COLUMNS) for those of these AN8s that left scope (their departure applied)
        and hold no record of this target since: `reason` (`no_role`, `deleted_in_jde`), `action`."""
        ...


def empty_state_frame() -> pd.DataFrame:
    """A state frame with no rows and the right dtypes."""
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in STATE_COLUMNS})
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame


def empty_rejection_frame() -> pd.DataFrame:
    """A rejection frame with no rows and the right dtypes."""
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in REJECTION_COLUMNS})
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame


def empty_departure_frame() -> pd.DataFrame:
    """A departure frame with no rows and the right dtypes."""
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in DEPARTURE_COLUMNS})
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame


class EmptySyncedState:
    """The state of a connector that never wrote anything (a first load, or no audit database)."""

    def records(self, target: str, an8s, emails=()) -> pd.DataFrame:
        return empty_state_frame()

    def last_rejected(self, target: str, an8s) -> pd.DataFrame:
        return empty_rejection_frame()

    def departed(self, target: str, an8s) -> pd.DataFrame:
        return empty_departure_frame()

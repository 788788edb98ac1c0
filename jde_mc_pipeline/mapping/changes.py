"""Change detection against the last synced state: payload hashes, `unchanged`, e-mail changes, lost tags.

The state is what the last *successful* write of each (target, AN8) left in Mailchimp: the key it
used (subscriber hash or customer id), the e-mail, the payload hash and, for members, the owned tags it
set active. Only the AN8 that held a record (the `key` of the write) has a state row; AN8s merged into
another have none, so they can never trigger a rename of someone else's member.

`SyncedState` is the interface; `InMemorySyncedState` serves the tests, and the audit store persists it
in DuckDB. The hash is the MD5 of the payload's canonical JSON (sorted keys, no blanks, UTF-8), over
the fields that describe the desired state (for members: email_address, merge_fields, status_if_new,
tags_active; tags_inactive and previous_email are derived from the state, so they stay out).

The state also remembers, per (target, AN8), the hash and title of the last payload Mailchimp refused
for good (`last_rejected`): the same payload would be refused again, so the mapping decides
`rejected:<title>` for it without an API call (mapping.md §5: not retried), while a changed payload is
sent again (the JDE fix may cure it). A later successful write of the AN8 forgets the refusal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.canonical import canonical

STATE_COLUMNS: tuple[str, ...] = ("an8", "target_key", "email", "payload_hash", "tags")
REJECTION_COLUMNS: tuple[str, ...] = ("an8", "payload_hash", "title", "run_id")


def payload_hash(record: dict) -> str:
    """The hash of one payload record: MD5 hex of its canonical JSON (the column-wise builder's reference)."""
    return hashlib.md5(canonical(record).encode("utf-8")).hexdigest()


def subscriber_hashes(emails: Iterable[str]) -> np.ndarray:
    """Mailchimp's member id: MD5 hex of the lower-cased e-mail."""
    return np.array(
        [hashlib.md5(email.lower().encode("utf-8")).hexdigest() for email in emails], dtype=object
    )


class SyncedState(Protocol):
    """What the last successful sync of each (target, AN8) left in Mailchimp."""

    def last_synced(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """Rows (STATE_COLUMNS) for those of these AN8s that hold a synced record of this target.

        `an8` int64; `target_key`, `email`, `payload_hash` str; `tags` a tuple of the owned tags active.
        """
        ...

    def holders_of(self, target: str, emails: Sequence[str] | np.ndarray) -> pd.DataFrame:
        """Rows (STATE_COLUMNS) whose last synced e-mail is one of these (who holds that member now)."""
        ...

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """Rows (REJECTION_COLUMNS) for those of these AN8s whose last payload of this target Mailchimp
        refused for good and that no successful write has followed since.

        `an8` int64; `payload_hash` the refused payload's hash; `title` Mailchimp's title (the part
        after `rejected:`); `run_id` the run that was refused (None when unknown).
        """
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


class InMemorySyncedState:
    """`SyncedState` in a dict: for tests and dry runs without an audit store."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], tuple[str, str, str, tuple[str, ...]]] = {}
        self._rejected: dict[tuple[str, int], tuple[str, str, str | None]] = {}

    def record(
        self, target: str, an8: int, target_key: str, email: str, payload_hash: str, tags: Sequence[str] = ()
    ) -> None:
        """Remember one successful write (the sync calls this for `created`, `updated` and `renamed`);
        it forgets a refusal remembered for the AN8."""
        self._rows[(target, int(an8))] = (target_key, email, payload_hash, tuple(tags))
        self._rejected.pop((target, int(an8)), None)

    def record_rejected(
        self, target: str, an8: int, payload_hash: str, title: str, run_id: str | None = None
    ) -> None:
        """Remember that Mailchimp refused this payload of the AN8 for good (`rejected:<title>`)."""
        self._rejected[(target, int(an8))] = (payload_hash, title, run_id)

    def record_written(self, target: str, payloads: pd.DataFrame) -> None:
        """Remember every row of a payload frame as written successfully (what a clean sync does)."""
        tags = payloads["tags_active"] if "tags_active" in payloads else [()] * len(payloads)
        for key, target_key, email, digest, active in zip(
            payloads["key"],
            payloads["target_key"],
            payloads["email_address"],
            payloads["payload_hash"],
            tags,
            strict=True,
        ):
            self.record(target, int(key), target_key, email, digest, active)

    def _frame(self, target: str, rows: list[tuple[int, tuple]]) -> pd.DataFrame:
        if not rows:
            return empty_state_frame()
        frame = pd.DataFrame([(an8, *values) for an8, values in rows], columns=list(STATE_COLUMNS))
        frame["an8"] = frame["an8"].astype(np.int64)
        return frame

    def last_synced(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        rows = [
            (int(an8), self._rows[(target, int(an8))]) for an8 in an8s if (target, int(an8)) in self._rows
        ]
        return self._frame(target, rows)

    def holders_of(self, target: str, emails: Sequence[str] | np.ndarray) -> pd.DataFrame:
        wanted = set(emails)
        rows = [
            (an8, values)
            for (tgt, an8), values in self._rows.items()
            if tgt == target and values[1] in wanted
        ]
        return self._frame(target, rows)

    def last_rejected(self, target: str, an8s: Sequence[int] | np.ndarray) -> pd.DataFrame:
        rows = [
            (int(an8), *self._rejected[(target, int(an8))])
            for an8 in pd.unique(np.asarray(an8s, dtype=np.int64))
            if (target, int(an8)) in self._rejected
        ]
        if not rows:
            return empty_rejection_frame()
        frame = pd.DataFrame(rows, columns=list(REJECTION_COLUMNS))
        frame["an8"] = frame["an8"].astype(np.int64)
        return frame

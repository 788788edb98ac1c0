"""What a sync would do with each payload, predicted without writing (for `jde-mc dry-run`).

Members are predicted from the audience itself: the dry run reads the members whose hashes the
payloads target (the new address, and the previous one for a rename), so `created`, `updated` and
`renamed` follow what Mailchimp holds. Customers are predicted from the synced state only (the dry run
reads no customers): a customer replacing another e-mail's is `renamed`, one whose e-mail the connector
holds a customer for is `updated` (also when it moves from a legacy id), any other `created`. Parties
leaving scope are predicted `left_scope:<reason>` with the `on_leave` action in the detail.

Flags, reported next to the predicted outcome because they do not change it:
- `compliance:<status>`: the contact is `unsubscribed` or `cleaned`. The sync sends `status_if_new`
  and never `status`, and `status_if_new` applies only to new contacts: Mailchimp accepts the upsert,
  updates merge fields and tags, and the contact keeps its status (it is *not* re-subscribed; no error).
- `archived`: the upsert restores the contact with `status_if_new`; Mailchimp refuses that with
  `Member In Compliance State` if the person had unsubscribed or bounced before being archived, which
  the API does not show, hence only a flag.
- `rename_onto_existing`: the new address already has a member: that one is updated and the old
  member is left as is (docs/mapping.md).
Addresses Mailchimp refuses as fake (reserved or special-use domains) are predicted `rejected:Invalid
Resource` for new contacts and for customers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import email_validator
import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.changes import SyncedState
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import CREATED, LEFT_SCOPE_PREFIX, REJECTED_PREFIX, RENAMED, UPDATED

RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
"""RFC 2606 second-level names Mailchimp refuses as 'looks fake or invalid'."""
FAKE = REJECTED_PREFIX + "Invalid Resource"
COMPLIANCE_STATUSES = ("unsubscribed", "cleaned")
PREDICTION_COLUMNS = ("an8", "target", "target_key", "email", "outcome", "flag", "detail")


@dataclass(frozen=True)
class Contact:
    """What the dry run read of one audience member."""

    email: str
    status: str


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


def looks_fake(email: str) -> bool:
    """True for reserved and special-use domains (example.com, .test, .invalid, .localhost, …)."""
    domain = email.rpartition("@")[2].lower().rstrip(".")
    labels = domain.split(".")
    suffixes = {".".join(labels[i:]) for i in range(len(labels))}
    return bool(suffixes & (set(RESERVED_DOMAINS) | set(email_validator.SPECIAL_USE_DOMAIN_NAMES)))


def hashes_needed(members: pd.DataFrame) -> list[str]:
    """The subscriber hashes the member payloads touch: new addresses, and previous ones of renames."""
    wanted = set(members["target_key"])
    wanted.update(subscriber_hash(p) for p in members["previous_email"] if isinstance(p, str) and p)
    return sorted(wanted)


def predict_members(members: pd.DataFrame, contacts: Mapping[str, Contact | None]) -> pd.DataFrame:
    """One prediction per member payload row; `contacts` maps hash → contact (None: not in the audience)."""
    rows = []
    for row in members.itertuples(index=False):
        found = contacts.get(row.target_key)
        previous = row.previous_email if isinstance(row.previous_email, str) and row.previous_email else None
        old = contacts.get(subscriber_hash(previous)) if previous else None
        flag, detail = "", ""
        if old is not None and found is not None:
            outcome, contact, flag = UPDATED, found, "rename_onto_existing"
            detail = f"{row.email_address} already has a member: it is updated, {previous} is left as is"
        elif old is not None:
            outcome, contact, detail = RENAMED, old, f"from {previous}"
        elif found is not None:
            outcome, contact = UPDATED, found
        else:
            outcome, contact = CREATED, None
        if contact is not None and contact.status in COMPLIANCE_STATUSES:
            flag = f"compliance:{contact.status}"
            detail = (
                f"stays {contact.status}: merge fields and tags are updated, the contact is not "
                "re-subscribed (status_if_new applies to new contacts only; Mailchimp raises no error)"
            )
        elif contact is not None and contact.status == "archived":
            flag = "archived"
            detail = (
                f"restored as {row.status_if_new}; refused (Member In Compliance State) if the person "
                "unsubscribed or bounced before being archived"
            )
        if outcome == CREATED and looks_fake(row.email_address):
            outcome, detail = FAKE, "the address looks fake or invalid to Mailchimp (reserved domain)"
        rows.append((int(row.key), LIST_MEMBER, row.target_key, row.email_address, outcome, flag, detail))
    return _frame(rows)


def predict_customers(customers: pd.DataFrame, state: SyncedState) -> pd.DataFrame:
    """One prediction per customer payload row, from the synced state (Mailchimp is not read)."""
    synced = state.records(ECOMMERCE_CUSTOMER, [], customers["email_address"].to_numpy(dtype=object))
    known = set(synced["email"])
    rows = []
    for row in customers.itertuples(index=False):
        an8 = int(row.key)
        previous = row.previous_email if isinstance(row.previous_email, str) and row.previous_email else None
        outcome = RENAMED if previous else UPDATED if row.email_address in known or row.retires else CREATED
        detail = f"replaces the customer of {previous}, deleted once this one is written" if previous else ""
        if row.retires and not previous:
            detail = f"moves from customer id {', '.join(row.retires)}"
        if looks_fake(row.email_address):
            outcome, detail = FAKE, "the address looks fake or invalid to Mailchimp (reserved domain)"
        rows.append((an8, ECOMMERCE_CUSTOMER, row.target_key, row.email_address, outcome, "", detail))
    return _frame(rows)


def predict_leaves(leaves: pd.DataFrame) -> pd.DataFrame:
    """One prediction per leaving AN8 whose record gets the `on_leave` action."""
    rows = []
    for row in leaves.itertuples(index=False):
        untagged = f": {', '.join(row.tags_inactive)} set inactive" if row.tags_inactive else ""
        outcome = LEFT_SCOPE_PREFIX + row.reason
        rows.append((int(row.an8), row.target, row.target_key, row.email_address, outcome, "",
                     f"on_leave {row.action}{untagged}"))  # fmt: skip
    return _frame(rows)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(PREDICTION_COLUMNS))
    frame["an8"] = frame["an8"].astype(np.int64)
    return frame

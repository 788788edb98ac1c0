"""The write records exchanged between the sync and the Mailchimp client.

Plain frozen dataclasses, no pandas: the mapping turns each payload row into one record, the client
turns each record into exactly one `WriteResult`, whatever happens on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MemberWrite:
    """One audience contact to add or update (never its subscription `status`)."""

    key: str
    email_address: str
    status_if_new: str
    merge_fields: dict[str, Any]
    tags_active: tuple[str, ...] = ()
    tags_inactive: tuple[str, ...] = ()
    previous_email: str | None = None
    """Rename: the member of this address gets the new one (its contact, history and consent follow)."""
    retires: tuple[str, ...] = ()
    """Subscriber hashes of old members no party uses any more: `retire_tags` set inactive on each,
    after this write succeeded (the contact itself is left as it is)."""
    retire_tags: tuple[str, ...] = ()
    an8s: tuple[int, ...] = ()
    """The JDE parties this record stands for (for the audit; not sent)."""


@dataclass(frozen=True)
class CustomerWrite:
    """One e-commerce customer of the store, keyed by `customer_id` (the MD5 of its e-mail).

    Fields left None are not sent; an empty string is sent as such (it clears the value).
    """

    key: str
    customer_id: str
    email_address: str
    opt_in_status: bool
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address: dict[str, str] | None = None
    previous_email: str | None = None
    """The e-mail of the customer this one replaces (outcome `renamed`)."""
    retires: tuple[str, ...] = ()
    """Customer ids deleted once this customer is written (an old e-mail's, or a legacy AN8 id)."""
    an8s: tuple[int, ...] = ()


@dataclass(frozen=True)
class LeaveWrite:
    """The `on_leave` action on the record of parties that left scope (docs/mapping.md).

    `action`: `untag` (set `tags_inactive` inactive on the member; nothing for a customer), `archive`
    (archive the member / delete the customer) or `none` (nothing is sent).
    """

    key: str
    target: str
    """`LIST_MEMBER` or `ECOMMERCE_CUSTOMER` (mapping/options.py)."""
    target_key: str
    email_address: str
    action: str
    tags_inactive: tuple[str, ...] = ()
    an8s: tuple[int, ...] = ()


@dataclass(frozen=True)
class WriteResult:
    """What became of one record: `outcome` is `CREATED`, `UPDATED`, `RENAMED`, `REJECTED` (for good) or
    `FAILED` (transient trouble that outlived the retries; safe to send again), mapping/outcomes.py."""

    key: str
    target: str
    """`LIST_MEMBER` or `ECOMMERCE_CUSTOMER` (mapping/options.py)."""
    target_key: str
    outcome: str
    status_code: int | None
    title: str | None
    detail: str | None
    attempts: int

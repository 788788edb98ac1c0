"""The write records exchanged between the sync and the Mailchimp client (contract: notes/payloads.md).

Plain frozen dataclasses, no pandas: the mapping turns each payload row into one record, the client
turns each record into exactly one `WriteResult`, whatever happens on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Target = Literal["list_member", "ecommerce_customer"]
OUTCOMES = ("created", "updated", "renamed", "rejected", "failed")


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


@dataclass(frozen=True)
class CustomerWrite:
    """One e-commerce customer of the store, keyed by `customer_id` (the AN8 as text)."""

    key: str
    customer_id: str
    email_address: str
    opt_in_status: bool
    company: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    address: dict[str, str] | None = None
    previous_email: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """What became of one record: `created`, `updated`, `renamed`, `rejected` (for good) or `failed`
    (transient trouble that outlived the retries; safe to send again)."""

    key: str
    target: Target
    target_key: str
    outcome: str
    status_code: int | None
    title: str | None
    detail: str | None
    attempts: int

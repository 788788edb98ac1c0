"""The emulator's data: audiences with merge fields and members, e-commerce stores with customers.

Everything a request touches is found through a dict: members by subscriber hash, customers by id and
by lower-cased e-mail within their store, merge fields by tag. Per-status member counts are kept up to
date on every change, so `GET /lists/{id}` never scans members. One re-entrant lock guards it all:
handlers are short, and the benchmarks' throughput comes from batching, not from parallel writes.

The state can be saved to and loaded from a JSON file (`state_file`): audiences, members, tombstones
(permanently deleted hashes), stores and customers. Batches in flight are not saved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MEMBER_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived")


def subscriber_hash(email: str) -> str:
    """MD5 hex of the lower-cased e-mail: the member's id and path segment."""
    return hashlib.md5(email.lower().encode("utf-8")).hexdigest()  # Mailchimp's own scheme, not security


@dataclass(slots=True)
class Member:
    email_address: str
    status: str
    unique_email_id: str
    contact_id: str
    web_id: int
    last_changed: str
    merge: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # name -> date added
    email_type: str = "html"
    interests: dict[str, bool] = field(default_factory=dict)
    language: str = ""
    vip: bool = False
    latitude: float = 0
    longitude: float = 0
    ip_signup: str = ""
    timestamp_signup: str = ""
    ip_opt: str = ""
    timestamp_opt: str = ""
    source: str = "API - Generic"
    unsubscribe_reason: str = ""
    # The person unsubscribed themselves, bounced or was cleaned: the API may not subscribe them again.
    compliance: bool = False


@dataclass(slots=True)
class MergeField:
    merge_id: int
    tag: str
    name: str
    type: str
    required: bool = False
    default_value: str = ""
    public: bool = False
    display_order: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    help_text: str = ""


@dataclass
class Audience:
    id: str
    web_id: int
    name: str
    date_created: str
    merge_fields: dict[str, MergeField] = field(default_factory=dict)  # by tag
    members: dict[str, Member] = field(default_factory=dict)  # by subscriber hash
    tombstones: set[str] = field(default_factory=set)  # hashes deleted permanently
    tag_ids: dict[str, int] = field(default_factory=dict)
    status_counts: Counter[str] = field(default_factory=Counter)

    def add_member(self, member_hash: str, member: Member) -> None:
        self.members[member_hash] = member
        self.status_counts[member.status] += 1

    def remove_member(self, member_hash: str) -> Member:
        member = self.members.pop(member_hash)
        self.status_counts[member.status] -= 1
        return member

    def set_status(self, member: Member, status: str) -> None:
        self.status_counts[member.status] -= 1
        self.status_counts[status] += 1
        member.status = status

    def tag_id(self, name: str) -> int:
        """The audience-wide id of a tag, created on first use (as Mailchimp does)."""
        if name not in self.tag_ids:
            self.tag_ids[name] = 10_000 + len(self.tag_ids) + 1
        return self.tag_ids[name]

    def merge_field_by_id(self, merge_id: int) -> MergeField | None:
        return next((f for f in self.merge_fields.values() if f.merge_id == merge_id), None)


@dataclass(slots=True)
class Customer:
    id: str
    email_address: str
    opt_in_status: bool
    created_at: str
    updated_at: str
    company: str = ""
    first_name: str = ""
    last_name: str = ""
    address: dict[str, str] = field(default_factory=dict)


@dataclass
class Store:
    id: str
    list_id: str
    name: str
    currency_code: str
    created_at: str
    updated_at: str
    details: dict[str, Any] = field(default_factory=dict)  # platform, domain, phone, address, ...
    customers: dict[str, Customer] = field(default_factory=dict)  # by id
    email_index: dict[str, str] = field(default_factory=dict)  # lower-cased e-mail -> customer id


def default_merge_fields() -> dict[str, MergeField]:
    """A new audience's fields (docs/mailchimp.md, Merge fields), plus BIRTHDAY as in Mailchimp's examples."""
    fields = [
        MergeField(1, "FNAME", "First Name", "text", display_order=2, options={"size": 25}),
        MergeField(2, "LNAME", "Last Name", "text", display_order=3, options={"size": 25}),
        MergeField(3, "ADDRESS", "Address", "address", display_order=4, options={"default_country": 164}),
        MergeField(4, "PHONE", "Phone Number", "phone", display_order=5, options={"phone_format": "none"}),
        MergeField(5, "BIRTHDAY", "Birthday", "birthday", display_order=6, options={"date_format": "MM/DD"}),
    ]
    return {f.tag: f for f in fields}


class EmulatorState:
    """All audiences and stores, a lock, a clock and a seeded source of ids."""

    def __init__(self, list_id: str, seed: int | None = None, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._random = random.Random(seed)
        self._now_second = -1
        self._now_text = ""
        self.lists: dict[str, Audience] = {}
        self.stores: dict[str, Store] = {}
        self.ensure_list(list_id)

    def ensure_list(self, list_id: str) -> Audience:
        """The audience `list_id`, created empty with the default merge fields when missing."""
        with self.lock:
            if list_id not in self.lists:
                self.lists[list_id] = Audience(
                    id=list_id,
                    web_id=self.new_web_id(),
                    name="JDE Customers and Vendors",
                    date_created=self.now(),
                    merge_fields=default_merge_fields(),
                )
            return self.lists[list_id]

    def now(self) -> str:
        """The current time as Mailchimp writes it: `2022-02-23T19:31:49+00:00` (formatted once a second)."""
        second = int(self.clock())
        if second != self._now_second:
            self._now_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
            self._now_second = second
        return self._now_text

    def new_hex(self, length: int) -> str:
        return f"{self._random.getrandbits(length * 4):0{length}x}"

    def new_web_id(self) -> int:
        return self._random.randint(100_000_000, 999_999_999)

    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "lists": [_audience_json(a) for a in self.lists.values()],
                "stores": [_store_json(s) for s in self.stores.values()],
            }

    def load_json(self, document: dict[str, Any]) -> None:
        """Replace the content with a saved document (as written by `to_json`)."""
        with self.lock:
            self.lists = {a["id"]: _audience_from(a) for a in document.get("lists", [])}
            self.stores = {s["id"]: _store_from(s) for s in document.get("stores", [])}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    def load(self, path: str | Path) -> None:
        self.load_json(json.loads(Path(path).read_text(encoding="utf-8")))


def _shallow(record: Member | Customer) -> dict[str, Any]:
    """A record's fields as a dict (its inner dicts hold only JSON values; `asdict` would deep-copy them)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _audience_json(audience: Audience) -> dict[str, Any]:
    return {
        "id": audience.id,
        "web_id": audience.web_id,
        "name": audience.name,
        "date_created": audience.date_created,
        "merge_fields": [dataclasses.asdict(f) for f in audience.merge_fields.values()],
        "members": {h: _shallow(m) for h, m in audience.members.items()},
        "tombstones": sorted(audience.tombstones),
        "tag_ids": audience.tag_ids,
    }


def _audience_from(doc: dict[str, Any]) -> Audience:
    audience = Audience(
        id=doc["id"],
        web_id=doc["web_id"],
        name=doc["name"],
        date_created=doc["date_created"],
        merge_fields={f["tag"]: MergeField(**f) for f in doc.get("merge_fields", [])},
        tombstones=set(doc.get("tombstones", [])),
        tag_ids=dict(doc.get("tag_ids", {})),
    )
    for member_hash, member in doc.get("members", {}).items():
        audience.add_member(member_hash, Member(**member))
    return audience


def _store_json(store: Store) -> dict[str, Any]:
    doc = {k: getattr(store, k) for k in ("id", "list_id", "name", "currency_code", "created_at")}
    doc.update(updated_at=store.updated_at, details=store.details)
    doc["customers"] = [_shallow(c) for c in store.customers.values()]
    return doc


def _store_from(doc: dict[str, Any]) -> Store:
    customers = [Customer(**c) for c in doc.get("customers", [])]
    fields = {k: v for k, v in doc.items() if k != "customers"}
    store = Store(**fields)
    for customer in customers:
        store.customers[customer.id] = customer
        store.email_index[customer.email_address.lower()] = customer.id
    return store

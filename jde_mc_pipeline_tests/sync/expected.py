"""The contract of mapping.md computed independently from the JDE emulator's raw rows, for the sync tests.

Deliberately written without the project's mapping code: rows come from `GET /_emulator/rows/{TABLE}`
(database column names, Julian dates) and every rule is re-derived here in plain Python, row by row,
so a bug in the vectorised mapping cannot hide by agreeing with itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import email_validator
import requests

TABLES = ("F0101", "F03012", "F0116", "F01151", "F0115", "F0111")
PREFIX = {"F0101": "AB", "F03012": "AI", "F0116": "AL", "F01151": "EA", "F0115": "WP", "F0111": "WW"}


@dataclass
class Party:
    an8: int
    company: str = ""
    first_name: str = ""
    last_name: str = ""
    is_customer: bool = False
    is_vendor: bool = False
    email: str | None = None
    email_problem: str = "no_email"
    phones: list[tuple[int, int, str]] = field(default_factory=list)
    address: dict[str, str] | None = None
    stamps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def in_scope(self) -> bool:
        return self.is_customer or self.is_vendor

    @property
    def phone_choices(self) -> set[str]:
        """Acceptable phones: every row tied for the best (rank, RCK7)."""
        if not self.phones:
            return set()
        best = min((rank, rck7) for rank, rck7, _ in self.phones)
        return {text for rank, rck7, text in self.phones if (rank, rck7) == best}

    @property
    def tags(self) -> set[str]:
        return {
            tag for tag, held in (("JDE Customer", self.is_customer), ("JDE Vendor", self.is_vendor)) if held
        }


def raw_rows(jde_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the six tables, without the column prefix."""
    rows = {}
    for table in TABLES:
        reply = requests.get(f"{jde_url}/_emulator/rows/{table}", timeout=30)
        reply.raise_for_status()
        cut = len(PREFIX[table])
        rows[table] = [{k[cut:]: v for k, v in row.items()} for row in reply.json()["rows"]]
    return rows


def julian(value: Any) -> dt.date | None:
    if not value:
        return None
    value = int(value)
    return dt.date(1900 + value // 1000, 1, 1) + dt.timedelta(days=value % 1000 - 1)


def text(value: Any) -> str:
    return str(value or "").strip()


def valid(email: str) -> bool:
    try:
        email_validator.validate_email(email, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def parties(jde_url: str, today: dt.date) -> dict[int, Party]:
    """Every AN8 with an F0101 row, assembled per mapping.md §1–2 (default options)."""
    rows = raw_rows(jde_url)
    found: dict[int, Party] = {}
    for row in rows["F0101"]:
        party = Party(int(row["AN8"]), company=text(row["ALPH"]))
        party.is_customer = text(row["AT1"]) == "C"
        party.is_vendor = text(row["AT1"]) == "V"
        found[party.an8] = party
    for table in TABLES:
        for row in rows[table]:
            if int(row["AN8"]) in found and row.get("UPMJ"):
                found[int(row["AN8"])].stamps.append((int(row["UPMJ"]), int(row.get("UPMT") or 0)))
    for row in rows["F03012"]:
        if int(row["AN8"]) in found:
            found[int(row["AN8"])].is_customer = True
    for row in rows["F0111"]:
        if int(row["AN8"]) in found and int(row["IDLN"]) == 0:
            found[int(row["AN8"])].first_name = text(row.get("GNNM"))
            found[int(row["AN8"])].last_name = text(row.get("SRNM"))
    emails = defaultdict(list)
    for row in rows["F01151"]:
        if int(row["IDLN"]) == 0 and text(row["ETP"]) == "E" and text(row["EMAL"]):
            emails[int(row["AN8"])].append((int(row["RCK7"]), text(row["EMAL"]).lower()))
    for an8, candidates in emails.items():
        if an8 not in found:
            continue
        good = [email for _, email in sorted(candidates) if valid(email)]
        found[an8].email = good[0] if good else None
        found[an8].email_problem = "" if good else "invalid_email"
    for row in rows["F0115"]:
        kind = text(row["PHTP"]).upper()
        if int(row["AN8"]) in found and int(row["IDLN"]) == 0 and text(row["PH1"]) and kind != "FAX":
            phone = re.sub(r"\s+", " ", f"{text(row['AR1'])} {text(row['PH1'])}").strip()
            found[int(row["AN8"])].phones.append((0 if kind == "" else 1, int(row["RCK7"]), phone))
    current: dict[int, tuple[dt.date, dict]] = {}
    for row in rows["F0116"]:
        an8, eftb = int(row["AN8"]), julian(row["EFTB"]) or dt.date.min
        if an8 in found and eftb <= today and (an8 not in current or eftb > current[an8][0]):
            current[an8] = (eftb, row)
    for an8, (_, row) in current.items():
        found[an8].address = {
            k: text(row.get(k)) for k in ("ADD1", "ADD2", "ADD3", "ADD4", "CTY1", "ADDS", "ADDZ", "CTR")
        }
    return found


def holders(found: dict[int, Party]) -> dict[str, Party]:
    """E-mail → the in-scope party holding its member (latest change wins, ties: lowest AN8)."""
    by_email: dict[str, list[Party]] = defaultdict(list)
    for party in found.values():
        if party.in_scope and party.email:
            by_email[party.email].append(party)
    return {
        email: min(group, key=lambda p: (tuple(-x for x in max(p.stamps, default=(0, 0))), p.an8))
        for email, group in by_email.items()
    }


def sharing(found: dict[int, Party]) -> dict[str, list[Party]]:
    """E-mail → the in-scope parties using it."""
    by_email: dict[str, list[Party]] = defaultdict(list)
    for party in found.values():
        if party.in_scope and party.email:
            by_email[party.email].append(party)
    return by_email


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


OWNED_TAGS = frozenset({"JDE Customer", "JDE Vendor"})


def mailchimp_state(server: Any, store_id: str = "jde-e1") -> tuple[dict[str, dict], dict[str, dict]]:
    """(e-mail → member, customer id → customer) as Mailchimp holds them, read through the API."""

    def pages(path: str, part: str) -> list[dict]:
        found: list[dict] = []
        dc = server.api_key.rpartition("-")[2]
        while True:
            reply = requests.get(
                server.api_url.format(dc=dc) + path,
                params={"count": 1000, "offset": len(found)},
                auth=("test", server.api_key),
                timeout=30,
            )
            reply.raise_for_status()
            body = reply.json()
            found.extend(body[part])
            if not body[part] or len(found) >= body["total_items"]:
                return found

    members = {m["email_address"]: m for m in pages(f"/lists/{server.list_id}/members", "members")}
    customers = {c["id"]: c for c in pages(f"/ecommerce/stores/{store_id}/customers", "customers")}
    return members, customers


def mismatches(
    server: Any,
    found: dict[int, Party],
    *,
    unsubscribed: set[str] = frozenset(),
    leftover_members: set[str] = frozenset(),
    leftover_customers: set[str] = frozenset(),
    before: dict[str, dict] | None = None,
) -> list[str]:
    """What differs between Mailchimp and the contract applied to `found` (the JDE parties now).

    Every in-scope e-mail is one member and one customer (id: the e-mail's hash) whose fields come from
    the holder, tags from the group's roles, status `subscribed` unless the person unsubscribed
    (`unsubscribed`, a Mailchimp-side fact the sync never undoes). Any other member must be one of
    `leftover_members` (records of parties that left or moved away: kept, with no owned tag active),
    any other customer one of `leftover_customers` (by e-mail). A blank JDE value is left out of the
    payload (`blank_clears` off, the default), so Mailchimp keeps what it held: when the holder of a
    shared e-mail changes to a party without, say, a first name or a phone, the record keeps the old
    holder's. `before` is the members as Mailchimp held them before the runs checked (e-mail → member;
    empty for a new audience): a blank JDE value must leave the member's value as it was there. Without
    it a blank value is not checked. An empty list means they agree.
    """
    members, customers = mailchimp_state(server)
    problems: list[str] = []
    groups = sharing(found)
    for email, holder in holders(found).items():
        member = members.get(email)
        if member is None:
            problems.append(f"no member for {email} (AN8 {holder.an8})")
            continue
        fields = member["merge_fields"]
        kept = None if before is None else (before.get(email) or {}).get("merge_fields", {})
        want = {"JDEAN8": str(holder.an8), "COMPANY": holder.company, "FNAME": holder.first_name,
                "LNAME": holder.last_name}  # fmt: skip
        for tag, value in want.items():
            if value and (fields.get(tag) or "") != value:
                problems.append(f"{email}: {tag} is {fields.get(tag)!r}, want {value!r}")
            elif not value and kept is not None and (fields.get(tag) or "") != (kept.get(tag) or ""):
                problems.append(f"{email}: blank {tag} changed {kept.get(tag)!r} to {fields.get(tag)!r}")
        phone = fields.get("PHONE") or ""
        if holder.phone_choices and phone not in holder.phone_choices:
            problems.append(f"{email}: PHONE {phone!r} not in {holder.phone_choices}")
        elif not holder.phone_choices and kept is not None and phone != (kept.get("PHONE") or ""):
            problems.append(f"{email}: no phone in JDE, but PHONE changed {kept.get('PHONE')!r} to {phone!r}")
        address = holder.address or {}
        got = fields.get("ADDRESS") or {}
        if all(address.get(k) for k in ("ADD1", "CTY1", "ADDS", "ADDZ")):
            if (got.get("addr1"), got.get("city"), got.get("zip")) != (
                address["ADD1"],
                address["CTY1"],
                address["ADDZ"],
            ):
                problems.append(f"{email}: ADDRESS {got}, want {address}")
        elif kept is not None and got != (kept.get("ADDRESS") or {}):
            problems.append(f"{email}: incomplete address in JDE, but ADDRESS changed to {got}")
        tags = {t["name"] for t in member["tags"]} & OWNED_TAGS
        wanted_tags = set().union(*(p.tags for p in groups[email]))
        if tags != wanted_tags:
            problems.append(f"{email}: owned tags {sorted(tags)}, want {sorted(wanted_tags)}")
        status = "unsubscribed" if email in unsubscribed else "subscribed"
        if member["status"] != status:
            problems.append(f"{email}: status {member['status']}, want {status}")
        customer = customers.get(subscriber_hash(email))
        if customer is None:
            problems.append(f"no customer for {email} (AN8 {holder.an8})")
        elif customer["email_address"] != email or any(
            value and (customer.get(name) or "") != value
            for name, value in (("company", holder.company), ("last_name", holder.last_name))
        ):
            problems.append(f"customer of {email}: {customer}")
    held = set(holders(found))
    for email, member in members.items():
        if email in held:
            continue
        if email not in leftover_members:
            problems.append(f"unexpected member {email}")
        elif {t["name"] for t in member["tags"]} & OWNED_TAGS:
            problems.append(f"left member {email} keeps owned tags {member['tags']}")
    for customer in customers.values():
        email = customer["email_address"]
        if email not in held and email not in leftover_customers:
            problems.append(f"unexpected customer {customer['id']} ({email})")
        if customer["id"] != subscriber_hash(email):
            problems.append(f"customer {customer['id']} is not keyed by the hash of {email}")
    return problems

"""How a list member is created, updated, renamed and re-subscribed (docs/mailchimp.md, Members).

Shared by the member endpoints, batch subscribe and e-commerce customers, so that every way in meets
the same rules. Each write validates everything first and changes the member only when nothing failed:
a refused request leaves no half-written member behind.

Rules:
- A member is keyed by `subscriber_hash` = MD5 of the lower-cased e-mail; the e-mail is stored as given.
- `subscribed` is refused with `Member In Compliance State` for a member flagged `compliance` (the
  person unsubscribed themselves, bounced or was cleaned); an unsubscribe by the API or an admin does not
  flag the member, so the API can subscribe it again. [unconfirmed] Only `subscribed` is refused:
  `pending` (the documented workaround), `transactional` and `unsubscribed` are accepted.
- Setting `cleaned` through the API flags the member like a bounce.
- A rename (new `email_address` on the old hash) gives a new `id` and `unique_email_id` and keeps
  `contact_id`, `web_id`, tags and merge values; onto an existing member → `Member Exists`; onto a
  permanently deleted address → `Forgotten Email Not Subscribed`.
- The emulated audience has no GDPR fields and no interest categories: a non-empty
  `marketing_permissions` is refused (400 `Invalid Resource`); `interests` are stored as sent.
- An archived member written with a status (POST, PUT with `status`/`status_if_new`, batch subscribe)
  comes back with that status, keeping its contact id and compliance flag.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.context import AppContext
from jde_mc_pipeline.emulators.mailchimp.merge_fields import apply_merge_values
from jde_mc_pipeline.emulators.mailchimp.state import Audience, Member, subscriber_hash
from jde_mc_pipeline.emulators.mailchimp.views import check_enum, check_types

WRITE_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
PATCH_STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending")
ADMIN_UNSUBSCRIBE = "N/A (Unsubscribed by admin)"
_PLAIN_FIELDS = ("email_type", "language", "vip", "ip_signup", "ip_opt", "timestamp_signup", "timestamp_opt")
_PLAIN_KEYS = frozenset((*_PLAIN_FIELDS, "interests", "location"))
_CHECKED_KEYS = frozenset(
    ("ip_signup", "ip_opt", "timestamp_signup", "timestamp_opt", "marketing_permissions", "tags")
)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "email_address": str, "status": str, "status_if_new": str, "email_type": str, "merge_fields": dict,
    "interests": dict, "language": str, "vip": bool, "location": dict, "marketing_permissions": list,
    "ip_signup": str, "ip_opt": str, "timestamp_signup": str, "timestamp_opt": str, "tags": list,
}  # fmt: skip


def validate_body(body: dict[str, Any], statuses: tuple[str, ...]) -> None:
    """Schema checks common to POST, PUT, PATCH and batch-subscribe entries."""
    check_types(body, _TYPES)
    check_enum(body, "status", statuses)
    check_enum(body, "status_if_new", statuses)
    check_enum(body, "email_type", ("html", "text"))
    if body.keys().isdisjoint(_CHECKED_KEYS):  # nothing below applies (most batch entries)
        return
    problems = []
    for name in ("ip_signup", "ip_opt"):
        if body.get(name):
            try:
                ipaddress.ip_address(body[name])
            except ValueError:
                problems.append({"field": name, "message": "This value is not a valid IP address."})
    for name in ("timestamp_signup", "timestamp_opt"):
        if body.get(name) and not _is_timestamp(body[name]):
            problems.append({"field": name, "message": "This value is not a valid date-time."})
    if body.get("marketing_permissions"):
        message = "This audience has no marketing permissions (GDPR fields) to set."
        problems.append({"field": "marketing_permissions", "message": message})
    tags = body.get("tags")
    if tags is not None and not all(isinstance(t, str) and t.strip() for t in tags):
        problems.append({"field": "tags", "message": "Schema describes string, object found instead"})
    if problems:
        raise errors.schema_error(problems)


def _is_timestamp(text: str) -> bool:
    candidate = text.strip().replace(" ", "T", 1)
    try:
        datetime.fromisoformat(candidate)
    except ValueError:
        return False
    return True


def create_member(
    app: AppContext,
    audience: Audience,
    email: str,
    status: str,
    body: dict[str, Any],
    *,
    skip_merge: bool,
    member_hash: str | None = None,
) -> tuple[str, Member]:
    """Add a new member (the caller has checked the address, tombstones and existence)."""
    merge = apply_merge_values(audience, {}, body.get("merge_fields"), skip_validation=skip_merge)
    state = app.state
    now = state.now()
    member = Member(
        email_address=email,
        status=status,
        unique_email_id=state.new_hex(10),
        contact_id=state.new_hex(32),
        web_id=state.new_web_id(),
        last_changed=now,
        merge=merge,
        compliance=status == "cleaned",
    )
    _apply_plain_fields(member, body)
    if status == "unsubscribed":
        member.unsubscribe_reason = ADMIN_UNSUBSCRIBE
    if status == "subscribed" and not member.timestamp_opt:
        member.timestamp_opt = now
    add_tags(member, body.get("tags") or [], now)
    for tag in member.tags:
        audience.tag_id(tag)
    member_hash = member_hash or subscriber_hash(email)
    audience.add_member(member_hash, member)
    return member_hash, member


def update_member(
    app: AppContext,
    audience: Audience,
    member_hash: str,
    member: Member,
    body: dict[str, Any],
    *,
    status: str | None,
    skip_merge: bool,
    new_email: str | None = None,
    tags: list[str] | None = None,
) -> str:
    """Update (and maybe rename, re-status, revive) a member; returns its hash afterwards."""
    merge = apply_merge_values(audience, member.merge, body.get("merge_fields"), skip_validation=skip_merge)
    if status is not None:
        check_status_change(member, status)
    target_hash = member_hash
    if new_email is not None and new_email != member.email_address:
        target_hash = subscriber_hash(new_email)
        if target_hash != member_hash:
            if target_hash in audience.tombstones:
                raise errors.forgotten_email(new_email)
            if target_hash in audience.members:
                raise errors.member_exists(new_email)
    # Everything is valid from here on.
    now = app.state.now()
    if target_hash != member_hash:
        del audience.members[member_hash]
        audience.members[target_hash] = member
        member.unique_email_id = app.state.new_hex(10)
    if new_email is not None:
        member.email_address = new_email
    member.merge = merge
    _apply_plain_fields(member, body)
    if status is not None:
        set_status(audience, member, status, now)
    if tags:
        add_tags(member, tags, now)
        for tag in tags:
            audience.tag_id(tag.strip())
    member.last_changed = now
    return target_hash


def check_status_change(member: Member, status: str) -> None:
    if status == "subscribed" and member.status != "subscribed" and member.compliance:
        raise errors.compliance_state(member.email_address)


def set_status(audience: Audience, member: Member, status: str, now: str) -> None:
    """Apply a status the caller has checked; records admin unsubscribes and opt-in times."""
    if status == member.status:
        return
    audience.set_status(member, status)
    member.unsubscribe_reason = ADMIN_UNSUBSCRIBE if status == "unsubscribed" else ""
    if status == "cleaned":
        member.compliance = True
    if status == "subscribed":
        member.timestamp_opt = now
    member.last_changed = now


def add_tags(member: Member, names: list[str], now: str) -> None:
    for name in names:
        member.tags.setdefault(name.strip(), now)


def _apply_plain_fields(member: Member, body: dict[str, Any]) -> None:
    if body.keys().isdisjoint(_PLAIN_KEYS):  # batch entries and customers' members rarely carry any
        return
    for name in _PLAIN_FIELDS:
        if body.get(name) is not None:
            setattr(member, name, body[name])
    if body.get("interests"):
        member.interests.update({k: bool(v) for k, v in body["interests"].items()})
    location = body.get("location") or {}
    for name in ("latitude", "longitude"):
        if isinstance(location.get(name), (int, float)):
            setattr(member, name, location[name])

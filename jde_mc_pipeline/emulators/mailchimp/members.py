"""`/lists/{list_id}/members...`: the member endpoints (docs/mailchimp.md, Members) and the member document
(https://mailchimp.com/developer/marketing/api/list-members/).

Decisions on [unconfirmed] points:
- PUT needs `email_address` and `status_if_new` (or `status`) only when it creates; an existing member
  accepts any subset, as recorded. A creating PUT without either status → 400 `Invalid Resource` with
  `errors[{"field": "", "message": "Required fields were not provided: status_if_new"}]`.
- A PUT whose hash misses while md5(email) exists → `Member Exists`, even when that member is archived.
- `tags` (strings) on PUT are applied only when the PUT creates the member (as integrators report).
- The collection leaves archived members out unless `status=archived` is asked for (users of the API
  report archived contacts missing from the list read; nothing documents an option to include them), so
  a drift read of what changed asks twice: `since_last_changed=T`, and `status=archived&since_last_changed=T`.
  Permanently deleted members are in no read at all.
- `since_last_changed` / `before_last_changed` (ISO 8601, `2015-10-21T15:41:36+00:00`; `Z`, other offsets
  and fractions accepted; no offset = UTC) keep members whose `last_changed` is strictly after / before
  the instant ("changed after the set timeframe"), combined with every other filter; `total_items`
  counts what the filters keep, and paging walks it. [unconfirmed] Whether the bound itself is included
  is not documented: strictly after means a client must not take the second of its last read as
  already seen. A value that is no date (e.g. a `+` sent unencoded, which reads as a space) → 400
  `Invalid Resource` naming the parameter.
- The path segment must be the subscriber hash (the newer "e-mail or contact_id" form is not emulated).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.member_rules import (
    PATCH_STATUSES,
    WRITE_STATUSES,
    create_member,
    update_member,
    validate_body,
)
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import MEMBER_STATUSES, Audience, Member, subscriber_hash
from jde_mc_pipeline.emulators.mailchimp.views import audience_of, check_enum, links, page, require_fields

ARCHIVE_REFUSED = (
    "This list member cannot be removed. Can not archive a contact that is bounced, pending or archived"
)


def member_view(call: Call, audience: Audience, member_hash: str, member: Member) -> dict[str, Any]:
    """The member document with every audience merge field present (`""` when unset)."""
    merge = {tag: member.merge.get(tag, "") for tag in audience.merge_fields}
    full_name = " ".join(p for p in (merge.get("FNAME"), merge.get("LNAME")) if isinstance(p, str) and p)
    tags = [{"id": audience.tag_id(name), "name": name} for name in member.tags]
    doc: dict[str, Any] = {
        "id": member_hash,
        "email_address": member.email_address,
        "unique_email_id": member.unique_email_id,
        "contact_id": member.contact_id,
        "full_name": full_name,
        "web_id": member.web_id,
        "email_type": member.email_type,
        "status": member.status,
    }
    if member.status == "unsubscribed" and member.unsubscribe_reason:
        doc["unsubscribe_reason"] = member.unsubscribe_reason
    doc.update(
        consents_to_one_to_one_messaging=True,
        merge_fields=merge,
        stats={"avg_open_rate": 0, "avg_click_rate": 0},
        ip_signup=member.ip_signup,
        timestamp_signup=member.timestamp_signup,
        ip_opt=member.ip_opt,
        timestamp_opt=member.timestamp_opt,
        member_rating=2,
        last_changed=member.last_changed,
        language=member.language,
        vip=member.vip,
        email_client="",
        location={
            "latitude": member.latitude,
            "longitude": member.longitude,
            "gmtoff": 0,
            "dstoff": 0,
            "country_code": "",
            "timezone": "",
            "region": "",
        },
        source=member.source,
        tags_count=len(tags),
        tags=tags[:50],
        list_id=audience.id,
        _links=links(
            call,
            f"/lists/{audience.id}/members/{member_hash}",
            ("self", "GET", ""),
            ("update", "PATCH", ""),
            ("upsert", "PUT", ""),
            ("delete", "DELETE", ""),
        ),
    )
    if member.interests:
        doc["interests"] = dict(member.interests)
    return doc


_QUICK_KEYS: dict[str, Callable[[Audience, str, Member], Any]] = {
    "id": lambda audience, member_hash, member: member_hash,
    "email_address": lambda audience, member_hash, member: member.email_address,
    "unique_email_id": lambda audience, member_hash, member: member.unique_email_id,
    "contact_id": lambda audience, member_hash, member: member.contact_id,
    "web_id": lambda audience, member_hash, member: member.web_id,
    "email_type": lambda audience, member_hash, member: member.email_type,
    "status": lambda audience, member_hash, member: member.status,
    "last_changed": lambda audience, member_hash, member: member.last_changed,
    "timestamp_opt": lambda audience, member_hash, member: member.timestamp_opt,
    "list_id": lambda audience, member_hash, member: audience.id,
    "tags_count": lambda audience, member_hash, member: len(member.tags),
    "tags": lambda audience, member_hash, member: [
        {"id": audience.tag_id(name), "name": name} for name in list(member.tags)[:50]
    ],
}


def member_part(
    call: Call, audience: Audience, member_hash: str, member: Member, keys: frozenset[str] | None
) -> dict[str, Any]:
    """The member document, or only `keys` of it (built directly when they are simple ones)."""
    if keys is None:
        return member_view(call, audience, member_hash, member)
    if keys <= _QUICK_KEYS.keys():
        return {key: _QUICK_KEYS[key](audience, member_hash, member) for key in keys}
    full = member_view(call, audience, member_hash, member)
    return {key: full[key] for key in keys if key in full}


def member_of(call: Call, audience: Audience) -> tuple[str, Member]:
    member_hash = call.params["subscriber_hash"]
    member = audience.members.get(member_hash)
    if member is None:
        raise errors.not_found()
    return member_hash, member


def list_members(call: Call) -> Reply:
    audience = audience_of(call)
    count, offset = call.paging()
    status = call.query_value("status")
    check_enum({"status": status}, "status", MEMBER_STATUSES)
    email_type = call.query_value("email_type")
    vip_only = call.flag("vip_only")
    unique_email_id = call.query_value("unique_email_id")

    def wanted(member: Member) -> bool:
        return (
            (member.status == status if status else member.status != "archived")
            and (email_type is None or member.email_type == email_type)
            and (not vip_only or member.vip)
            and (unique_email_id is None or member.unique_email_id == unique_email_id)
        )

    since = _instant(call, "since_last_changed", round_up=False)
    before = _instant(call, "before_last_changed", round_up=True)
    if since or before:
        changed = (
            (h, m)
            for h, m in audience.members.items()
            if (since is None or m.last_changed > since) and (before is None or m.last_changed < before)
        )
        kept = [(h, m) for h, m in changed if wanted(m)]
        members = [member_view(call, audience, h, m) for h, m in kept[offset : offset + count]]
        return _members_page(call, audience, members, len(kept))
    selected = ((h, m) for h, m in audience.members.items() if wanted(m))
    members = [member_view(call, audience, h, m) for h, m in page(selected, count, offset)]
    if email_type or vip_only or unique_email_id:
        total = sum(1 for m in audience.members.values() if wanted(m))
    elif status:
        total = audience.status_counts[status]
    else:
        total = len(audience.members) - audience.status_counts["archived"]
    return _members_page(call, audience, members, total)


def _members_page(call: Call, audience: Audience, members: list[dict[str, Any]], total: int) -> Reply:
    return Reply(
        200,
        {
            "members": members,
            "list_id": audience.id,
            "total_items": total,
            "_links": links(
                call, f"/lists/{audience.id}/members", ("self", "GET", ""), ("create", "POST", "")
            ),
        },
    )


def _instant(call: Call, name: str, *, round_up: bool) -> str | None:
    """The query's instant written as `last_changed` is (whole seconds, UTC), so that members compare as
    strings: `since` is rounded down and `before` up, which keeps "strictly after / before" exact."""
    text = call.query_value(name)
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        message = f"{text!r} is not an ISO 8601 date-time such as 2015-10-21T15:41:36+00:00"
        raise errors.schema_error([{"field": name, "message": message}]) from None
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def get_member(call: Call) -> Reply:
    audience = audience_of(call)
    member_hash, member = member_of(call, audience)
    return Reply(200, member_view(call, audience, member_hash, member))


def add_member(call: Call) -> Reply:
    """POST: create only; an archived member comes back, a current one is `Member Exists`."""
    audience = audience_of(call)
    body = call.json_object()
    require_fields(body, ("email_address", "status"))
    validate_body(body, WRITE_STATUSES)
    email = call.app.email_rules.check_syntax(body["email_address"])
    member_hash = subscriber_hash(email)
    if member_hash in audience.tombstones:
        raise errors.forgotten_email(email)
    existing = audience.members.get(member_hash)
    if existing is not None and existing.status != "archived":
        raise errors.member_exists(email)
    if call.app.email_rules.looks_fake(email):
        raise errors.fake_email(email)
    skip = call.flag("skip_merge_validation")
    if existing is not None:
        update_member(
            call.app, audience, member_hash, existing, body,
            status=body["status"], skip_merge=skip, new_email=email, tags=body.get("tags"),
        )  # fmt: skip
        return Reply(200, member_view(call, audience, member_hash, existing))
    member_hash, member = create_member(call.app, audience, email, body["status"], body, skip_merge=skip)
    return Reply(200, member_view(call, audience, member_hash, member))


def upsert_member(call: Call) -> Reply:
    """PUT: update the member under the hash, or create the body's e-mail when the hash misses."""
    audience = audience_of(call)
    body = call.json_object()
    validate_body(body, WRITE_STATUSES)
    skip = call.flag("skip_merge_validation")
    member_hash = call.params["subscriber_hash"]
    existing = audience.members.get(member_hash)
    if existing is not None:
        new_email = _checked_new_email(call, body, existing)
        status = body.get("status")
        if existing.status == "archived" and status is None:
            status = body.get("status_if_new")
            if status is None:
                require_fields(body, ("status_if_new",))
        member_hash = update_member(
            call.app,
            audience,
            member_hash,
            existing,
            body,
            status=status,
            skip_merge=skip,
            new_email=new_email,
        )
        return Reply(200, member_view(call, audience, member_hash, existing))
    require_fields(body, ("email_address",))
    email = call.app.email_rules.check_syntax(body["email_address"])
    member_hash = subscriber_hash(email)
    if member_hash in audience.tombstones:
        raise errors.forgotten_email(email)
    if member_hash in audience.members:
        raise errors.member_exists(email)
    if call.app.email_rules.looks_fake(email):
        raise errors.fake_email(email)
    status = body.get("status") or body.get("status_if_new")
    if status is None:
        require_fields(body, ("status_if_new",))
    member_hash, member = create_member(call.app, audience, email, status, body, skip_merge=skip)
    return Reply(200, member_view(call, audience, member_hash, member))


def patch_member(call: Call) -> Reply:
    audience = audience_of(call)
    member_hash, member = member_of(call, audience)
    body = call.json_object()
    validate_body(body, PATCH_STATUSES)
    new_email = _checked_new_email(call, body, member)
    member_hash = update_member(
        call.app, audience, member_hash, member, body,
        status=body.get("status"), skip_merge=call.flag("skip_merge_validation"), new_email=new_email,
    )  # fmt: skip
    return Reply(200, member_view(call, audience, member_hash, member))


def _checked_new_email(call: Call, body: dict[str, Any], member: Member) -> str | None:
    """The body's address, checked like a new one when it renames the member."""
    if body.get("email_address") is None:
        return None
    address = call.app.email_rules.check_syntax(body["email_address"])
    if address.lower() != member.email_address.lower() and call.app.email_rules.looks_fake(address):
        raise errors.fake_email(address)
    return address


def archive_member(call: Call) -> Reply:
    audience = audience_of(call)
    _, member = member_of(call, audience)
    if member.status in ("archived", "pending", "cleaned"):
        raise errors.method_not_allowed(["GET", "PUT"], ARCHIVE_REFUSED)
    now = call.app.state.now()
    audience.set_status(member, "archived")
    member.last_changed = now
    return Reply(204)


def delete_member_permanently(call: Call) -> Reply:
    audience = audience_of(call)
    member_hash, _ = member_of(call, audience)
    audience.remove_member(member_hash)
    audience.tombstones.add(member_hash)
    return Reply(204)

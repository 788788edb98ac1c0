"""`POST /lists/{list_id}`: batch subscribe/unsubscribe, synchronous, at most 500 members
(docs/mailchimp.md, Members).

Each entry meets the same rules as a single member call (member_rules), and its failure is reported in
`errors[]` instead of failing the request:
- an existing member without `update_existing` → `ERROR_CONTACT_EXISTS` with the recorded message;
- everything else → `ERROR_GENERIC` with the detail the single call would give ("Please provide a valid
  email address.", "... looks fake or invalid ...", "Member In Compliance State"'s detail, the forgotten
  e-mail detail, "Your merge fields were invalid."), plus `field`/`field_message` for field errors
  (added 2022-08).
- With `update_existing`, an existing member keeps its status unless the entry sends `status`:
  `status_if_new` never touches an existing member, so an unsubscribed or compliance-state member stays
  as it is; an explicit `status: subscribed` on a compliance-state member is an error.
- `tags` (strings) are added to new and, with `update_existing`, existing members (changelog 2022-01);
  `sync_tags` (only with `update_existing`) makes an existing member's tags exactly the entry's tags.

[unconfirmed] choices: more than 500 members → 400 `Invalid Resource` "Maximum allowed member items
exceeded, please provide at most 500 items in members field" (worded after the segment endpoint's
error); a second entry for the same address is an `ERROR_GENERIC` ("<email> appears more than once in
this request.") unless `skip_duplicate_check=true`, which ignores it (the first wins, as documented);
a new entry with neither `status` nor `status_if_new` is an `ERROR_GENERIC` with the schema detail.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.fields import wanted_keys
from jde_mc_pipeline.emulators.mailchimp.member_rules import (
    WRITE_STATUSES,
    create_member,
    update_member,
    validate_body,
)
from jde_mc_pipeline.emulators.mailchimp.members import member_part
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import Audience, subscriber_hash
from jde_mc_pipeline.emulators.mailchimp.views import audience_of, check_types, require_fields

MAX_MEMBERS = 500
_DUPLICATE = object()


class _ContactExists(Exception):  # noqa: N818 - an outcome, reported as ERROR_CONTACT_EXISTS
    pass


def batch_subscribe(call: Call) -> Reply:
    audience = audience_of(call)
    body = call.json_object()
    require_fields(body, ("members",))
    check_types(body, {"members": list, "update_existing": bool, "sync_tags": bool})
    entries = body["members"]
    if len(entries) > MAX_MEMBERS:
        raise errors.invalid_resource(
            "Maximum allowed member items exceeded, "
            f"please provide at most {MAX_MEMBERS} items in members field"
        )
    update_existing = bool(body.get("update_existing"))
    options = {
        "update_existing": update_existing,
        "sync_tags": update_existing and bool(body.get("sync_tags")),
        "skip_merge": call.flag("skip_merge_validation"),
        "skip_duplicates": call.flag("skip_duplicate_check"),
    }
    wanted = {part: wanted_keys(call.query, part) for part in ("new_members", "updated_members")}
    seen: set[str] = set()
    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry in entries:
        email = entry.get("email_address") if isinstance(entry, dict) else None
        try:
            outcome = _subscribe_one(call, audience, entry, seen, options)
        except _ContactExists:
            failed.append(
                {
                    "email_address": email,
                    "error": f"{email} is already a list member, do you want to update? "
                    "please provide update_existing:true in the request body",
                    "error_code": "ERROR_CONTACT_EXISTS",
                }
            )
            continue
        except errors.ApiError as error:
            failed.append(_generic_error(email, error))
            continue
        if outcome is _DUPLICATE:
            continue
        is_new, member_hash = outcome
        keys = wanted["new_members" if is_new else "updated_members"]
        view = member_part(call, audience, member_hash, audience.members[member_hash], keys)
        (created if is_new else updated).append(view)
    return Reply(
        200,
        {
            "new_members": created,
            "updated_members": updated,
            "errors": failed,
            "total_created": len(created),
            "total_updated": len(updated),
            "error_count": len(failed),
            "_links": [],
        },
    )


def _subscribe_one(
    call: Call, audience: Audience, entry: Any, seen: set[str], options: dict[str, bool]
) -> tuple[bool, str] | object:
    """(created?, hash) for one entry, `_DUPLICATE` for an ignored repeat; raises for an error entry."""
    if not isinstance(entry, dict):
        raise errors.schema_error([{"field": "members", "message": "Schema describes object"}])
    rules = call.app.email_rules
    email = rules.check_syntax(entry.get("email_address"))
    validate_body(entry, WRITE_STATUSES)
    member_hash = subscriber_hash(email)
    if member_hash in seen:
        if options["skip_duplicates"]:
            return _DUPLICATE
        raise errors.invalid_resource(f"{email} appears more than once in this request.")
    seen.add(member_hash)
    if member_hash in audience.tombstones:
        raise errors.forgotten_email(email)
    tags = [t.strip() for t in entry.get("tags") or []]
    existing = audience.members.get(member_hash)
    if existing is not None and existing.status != "archived":
        if not options["update_existing"]:
            raise _ContactExists
        update_member(
            call.app, audience, member_hash, existing, entry, status=entry.get("status"),
            skip_merge=options["skip_merge"], tags=None if options["sync_tags"] else tags,
        )  # fmt: skip
        if options["sync_tags"]:
            now = call.app.state.now()
            existing.tags = {name: existing.tags.get(name, now) for name in tags}
            for name in tags:
                audience.tag_id(name)
        return False, member_hash
    if rules.looks_fake(email):
        raise errors.fake_email(email)
    status = entry.get("status") or entry.get("status_if_new")
    if status is None:
        require_fields(entry, ("status",))
    if existing is not None:
        update_member(
            call.app, audience, member_hash, existing, entry, status=status,
            skip_merge=options["skip_merge"], new_email=email, tags=tags,
        )  # fmt: skip
        return True, member_hash
    create_member(
        call.app, audience, email, status, entry, skip_merge=options["skip_merge"], member_hash=member_hash
    )
    return True, member_hash


def _generic_error(email: Any, error: errors.ApiError) -> dict[str, Any]:
    entry: dict[str, Any] = {"email_address": email, "error": error.detail, "error_code": "ERROR_GENERIC"}
    if error.errors:
        first = error.errors[0]
        entry["field"] = first.get("field", "")
        entry["field_message"] = first.get("message", "")
    return entry

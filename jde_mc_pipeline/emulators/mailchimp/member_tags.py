"""`/lists/{list_id}/members/{subscriber_hash}/tags` (docs/mailchimp.md, Members: tags).

POST `{"tags": [{"name", "status": "active"|"inactive"}], "is_syncing"}` → 204: `active` adds the tag
(creating it on the audience when new), `inactive` removes it; an empty list is a no-op. A request that
changes the member's tags moves its `last_changed` [unconfirmed]: see marketer.py for why.

Deliberately stricter than Mailchimp: a body without the `{"tags": [...]}` wrapper, or an entry without
`name`/`status`, is refused with 400 `Invalid Resource` instead of the real service's silent 204 that
changes nothing, so that a client bug shows in tests instead of in production data.
"""

from __future__ import annotations

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.members import member_of
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.views import audience_of, links, page, require_fields


def list_tags(call: Call) -> Reply:
    audience = audience_of(call)
    member_hash, member = member_of(call, audience)
    count, offset = call.paging()
    tags = [
        {"id": audience.tag_id(name), "name": name, "date_added": added}
        for name, added in page(member.tags.items(), count, offset)
    ]
    return Reply(
        200,
        {
            "tags": tags,
            "total_items": len(member.tags),
            "_links": links(call, f"/lists/{audience.id}/members/{member_hash}/tags", ("self", "GET", "")),
        },
    )


def update_tags(call: Call) -> Reply:
    audience = audience_of(call)
    _, member = member_of(call, audience)
    body = call.json_object()
    require_fields(body, ("tags",))
    entries = body["tags"]
    problems = []
    if not isinstance(entries, list):
        problems.append({"field": "tags", "message": "Schema describes array"})
        entries = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"].strip():
            problems.append(
                {"field": f"tags.{index}.name", "message": "Required fields were not provided: name"}
            )
        elif entry.get("status") not in ("active", "inactive"):
            problems.append({"field": f"tags.{index}.status", "message": "Value is not one of enum list"})
    if problems:
        raise errors.schema_error(problems)
    now = call.app.state.now()
    before = set(member.tags)
    for entry in entries:
        name = entry["name"].strip()
        if entry["status"] == "active":
            audience.tag_id(name)
            member.tags.setdefault(name, now)
        else:
            member.tags.pop(name, None)
    if set(member.tags) != before:
        member.last_changed = now
    return Reply(204)

"""Tags the connector owns (e.g. "JDE Customer", "JDE Vendor"): added or set inactive, one member at a time.

Only the tags named in a record are ever touched, so tags set by marketers stay as they are. The
`/tags` endpoint is the documented way for existing members; batch subscribe also adds the record's
active tags (since 2022-01), so a follow-up call is made only when the member object Mailchimp returned
shows a tag missing, or may still carry a tag to deactivate.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.mailchimp.records import MemberWrite
from jde_mc_pipeline.mapping.options import LIST_MEMBER

MEMBER_TAG_SAMPLE = 50  # a member object lists at most this many tags; the full set is at /tags


def tag_changes(record: MemberWrite, member: Any, sent_active: bool) -> tuple[list[str], list[str]]:
    """Which of the record's tags still need a `/tags` call, judged from the returned member object.

    `sent_active`: the write itself carried the active tags (batch subscribe), so without evidence to
    the contrary they are taken as applied.
    """
    names, complete = _known_tags(member)
    if names is None:
        activate = [] if sent_active else list(record.tags_active)
        return activate, list(record.tags_inactive)
    activate = [t for t in record.tags_active if t not in names]
    deactivate = [t for t in record.tags_inactive if t in names or not complete]
    return activate, deactivate


def set_member_tags(
    client: MailchimpClient,
    list_id: str,
    subscriber_hash: str,
    activate: list[str],
    deactivate: list[str],
    key: str,
) -> ApiResponse:
    """`POST /lists/{list_id}/members/{hash}/tags` with the given tags active/inactive (204 on success)."""
    tags = [{"name": t, "status": "active"} for t in activate]
    tags += [{"name": t, "status": "inactive"} for t in deactivate]
    return client.call(
        "POST",
        f"/lists/{list_id}/members/{subscriber_hash}/tags",
        body={"tags": tags, "is_syncing": False},
        target=LIST_MEMBER,
        target_key=subscriber_hash,
        record_keys=(key,),
    )


def _known_tags(member: Any) -> tuple[set[str] | None, bool]:
    """The member's tag names if the object lists them, and whether that list is the whole set."""
    if not isinstance(member, dict) or not isinstance(member.get("tags"), list):
        return None, False
    names = {str(t.get("name")) for t in member["tags"] if isinstance(t, dict)}
    count = member.get("tags_count")
    complete = count <= len(names) if isinstance(count, int) else len(names) < MEMBER_TAG_SAMPLE
    return names, complete

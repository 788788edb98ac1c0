"""The audience (list) the connector writes to: does it exist for this key and data center?"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import AudienceNotFoundError, MailchimpApiError


def check_audience(client: MailchimpClient, list_id: str) -> dict[str, Any]:
    """The list's id, name and member count; `AudienceNotFoundError` when Mailchimp does not know it."""
    if not list_id:
        raise AudienceNotFoundError("MAILCHIMP_LIST_ID is not set", None, None, "no audience id configured")
    answer = client.call("GET", f"/lists/{list_id}", params={"fields": "id,name,stats.member_count"})
    if answer.status == 404:
        raise AudienceNotFoundError(
            f"Audience {list_id!r} not found for this API key (check MAILCHIMP_LIST_ID)",
            answer.status,
            answer.title,
            answer.detail,
        )
    if not answer.ok:
        raise MailchimpApiError(
            f"Reading audience {list_id!r} failed", answer.status, answer.title, answer.detail
        )
    body = answer.body or {}
    return {
        "id": body.get("id", list_id),
        "name": body.get("name"),
        "member_count": (body.get("stats") or {}).get("member_count"),
    }

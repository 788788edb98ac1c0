"""Reading the audience members a dry run needs, by the cheaper of two ways.

Why two ways: one `GET /lists/{id}/members/{hash}` per member is exact and cheap for a few hundred
payloads, but a first dry run over a large JDE targets tens of thousands of hashes, and at Mailchimp's
latency on 8 connections that is minutes. Reading the whole audience in pages of 1000 (three fields per
member, plus the archived members, which the collection leaves out unless asked) costs one call per
thousand contacts. The first page tells how big the audience is; the reader then takes whichever way
needs fewer calls. Either way only GETs are sent.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.sync.predicted_outcomes import Contact

PAGE = 1000
PAGE_FIELDS = "members.id,members.email_address,members.status,total_items"


def read_members(
    client: MailchimpClient, list_id: str, hashes: list[str], *, direct_limit: int = PAGE
) -> dict[str, Contact | None]:
    """hash → the member found (None: not in the audience), for every hash asked."""
    if len(hashes) <= direct_limit:
        return _one_by_one(client, list_id, hashes)
    first, total = _page(client, list_id, 0, None)
    archived_first, archived_total = _page(client, list_id, 0, "archived")
    pages = math.ceil(total / PAGE) + math.ceil(archived_total / PAGE)
    if pages >= len(hashes):
        return _one_by_one(client, list_id, hashes)
    found = {**first, **archived_first}
    offsets = [(o, None) for o in range(PAGE, total, PAGE)]
    offsets += [(o, "archived") for o in range(PAGE, archived_total, PAGE)]
    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="dry-run") as pool:
        for more, _ in pool.map(lambda item: _page(client, list_id, *item), offsets):
            found.update(more)
    return {member_hash: found.get(member_hash) for member_hash in hashes}


def _one_by_one(client: MailchimpClient, list_id: str, hashes: list[str]) -> dict[str, Contact | None]:
    def one(member_hash: str) -> tuple[str, Contact | None]:
        answer = client.call(
            "GET", f"/lists/{list_id}/members/{member_hash}", params={"fields": "email_address,status"}
        )
        if answer.status == 404:
            return member_hash, None
        if not answer.ok or not isinstance(answer.body, dict):
            raise MailchimpApiError(
                f"Reading member {member_hash} failed", answer.status, answer.title, answer.detail
            )
        return member_hash, Contact(
            str(answer.body.get("email_address", "")), str(answer.body.get("status", ""))
        )

    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="dry-run") as pool:
        return dict(pool.map(one, hashes))


def _page(
    client: MailchimpClient, list_id: str, offset: int, status: str | None
) -> tuple[dict[str, Contact], int]:
    params = {"count": PAGE, "offset": offset, "fields": PAGE_FIELDS}
    if status:
        params["status"] = status
    answer = client.call("GET", f"/lists/{list_id}/members", params=params)
    if not answer.ok or not isinstance(answer.body, dict):
        raise MailchimpApiError(
            "Reading the audience's members failed", answer.status, answer.title, answer.detail
        )
    members = {
        str(m.get("id")): Contact(str(m.get("email_address", "")), str(m.get("status", "")))
        for m in answer.body.get("members") or []
    }
    return members, int(answer.body.get("total_items") or 0)

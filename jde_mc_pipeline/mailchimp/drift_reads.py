"""What the drift report reads back from Mailchimp: members (all, or changed since a moment), the
audience's totals, its member ids, and the store's customer ids. Only GETs, in pages of 1000, through the
one client, so its process-wide connection cap bounds them (at most `max_connections` at once).

Why `fields=`: a full member object is ~3 KB; the report needs its id, status, merge fields and tags
(and `tags_count`, to know the tags listed are all of them), a fifth of that. Why archived members are
read apart: the members collection leaves them out unless `status=archived` is asked for. Why the
totals and the id-only pages: a permanently deleted member never shows in a `since_last_changed` read,
so deletions are found by counting (sync/drift.py decides when the counts call for the id-only scan).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError

PAGE = 1000
ARCHIVED = "archived"
MEMBER_FIELDS = ",".join(
    [f"members.{name}" for name in ("id", "email_address", "status", "merge_fields", "tags", "tags_count")]
    + ["total_items"]
)
ID_FIELDS = "members.id,total_items"


def read_members(
    client: MailchimpClient, list_id: str, since: datetime | None, *, ids_only: bool = False
) -> list[dict[str, Any]]:
    """The audience's members (archived ones too), changed at or after `since` when given (every member
    otherwise), each as Mailchimp gives it with the fields the report needs (`id` only: `ids_only`)."""
    params: dict[str, Any] = {"fields": ID_FIELDS if ids_only else MEMBER_FIELDS}
    if since is not None:
        # Mailchimp compares whole seconds, strictly after: a second earlier keeps the watermark's own second
        params["since_last_changed"] = (since - timedelta(seconds=1)).isoformat(timespec="seconds")
    found: list[dict[str, Any]] = []
    for status in (None, ARCHIVED):
        wanted = {**params, **({"status": status} if status else {})}
        found.extend(_all_pages(client, f"/lists/{list_id}/members", "members", wanted))
    return found


def audience_total(client: MailchimpClient, list_id: str) -> int:
    """How many members the audience holds, archived ones included (two small reads)."""
    total = 0
    for status in (None, ARCHIVED):
        params = {"count": 1, "fields": "total_items", **({"status": status} if status else {})}
        total += int(_get(client, f"/lists/{list_id}/members", params).get("total_items") or 0)
    return total


def store_customer_total(client: MailchimpClient, store_id: str) -> int:
    """How many customers the e-commerce store holds (one small read)."""
    path = f"/ecommerce/stores/{quote(store_id, safe='')}/customers"
    return int(_get(client, path, {"count": 1, "fields": "total_items"}).get("total_items") or 0)


def store_customer_ids(client: MailchimpClient, store_id: str) -> set[str]:
    """Every customer id of the store (id-only pages)."""
    path = f"/ecommerce/stores/{quote(store_id, safe='')}/customers"
    params = {"fields": "customers.id,total_items"}
    return {str(c.get("id")) for c in _all_pages(client, path, "customers", params)}


def _all_pages(
    client: MailchimpClient, path: str, key: str, params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Every item of a collection: the first page says how many there are, the others are read at once
    over the connection cap."""
    first = _get(client, path, {**params, "count": PAGE, "offset": 0})
    yield from first.get(key) or []
    offsets = range(PAGE, int(first.get("total_items") or 0), PAGE)
    if not offsets:
        return
    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="drift") as pool:
        for page in pool.map(lambda o: _get(client, path, {**params, "count": PAGE, "offset": o}), offsets):
            yield from page.get(key) or []


def _get(client: MailchimpClient, path: str, params: dict[str, Any]) -> dict[str, Any]:
    answer = client.call("GET", path, params=params)
    if not answer.ok or not isinstance(answer.body, dict):
        raise MailchimpApiError(f"Reading {path} failed", answer.status, answer.title, answer.detail)
    return answer.body

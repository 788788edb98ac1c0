"""The `on_leave` action on the records of parties that left scope (docs/mapping.md).

Why these calls and no others: leaving JDE's scope says nothing about the person's consent, so the
default (`untag`) only sets the connector's own tags inactive (`POST .../members/{hash}/tags`), and the
contact, its status and every marketer's tag stay. `archive` archives the member (`DELETE
/lists/{id}/members/{hash}`: Mailchimp keeps an archived contact's history, and a later upsert brings
it back) and deletes the e-commerce customer; `none` sends nothing. A record already gone (404) needs
nothing: the action is done. One call per record at most; the result is `left`, or `failed` /
`rejected` with the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.mailchimp.ecommerce import delete_customer
from jde_mc_pipeline.mailchimp.records import LeaveWrite, WriteResult
from jde_mc_pipeline.mailchimp.tags import set_member_tags
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import FAILED, REJECTED

LEFT = "left"
"""The result of an action applied (or with nothing to send)."""


def apply_leaves(
    client: MailchimpClient, list_id: str, store_id: str, records: Sequence[LeaveWrite]
) -> list[WriteResult]:
    """Apply each record's action; one `WriteResult` per record, in the order given."""
    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="mc-leaves") as pool:
        return list(pool.map(lambda record: _apply(client, list_id, store_id, record), records))


def _apply(client: MailchimpClient, list_id: str, store_id: str, record: LeaveWrite) -> WriteResult:
    answer: ApiResponse | None = None
    if record.target == LIST_MEMBER and record.action == "untag" and record.tags_inactive:
        answer = set_member_tags(
            client, list_id, record.target_key, [], list(record.tags_inactive), record.key
        )
        done = f"tags set inactive: {', '.join(record.tags_inactive)}"
    elif record.target == LIST_MEMBER and record.action == "archive":
        answer = client.call(
            "DELETE",
            f"/lists/{list_id}/members/{record.target_key}",
            target=LIST_MEMBER,
            target_key=record.target_key,
            record_keys=(record.key,),
        )
        done = "member archived"
    elif record.target == ECOMMERCE_CUSTOMER and record.action == "archive":
        answer = delete_customer(client, store_id, record.target_key, record.key)
        done = "customer deleted"
    else:
        done = "nothing sent" if record.action == "none" else "no owned tag was active: nothing sent"
        if record.target == ECOMMERCE_CUSTOMER and record.action != "none":
            done = "customer left as it is"
    if answer is None:
        return _result(record, LEFT, None, None, f"{record.action}: {done}", 0)
    if answer.ok or answer.status == 404:
        gone = " (already gone)" if answer.status == 404 else ""
        return _result(record, LEFT, answer.status, None, f"{record.action}: {done}{gone}", answer.attempts)
    outcome = FAILED if answer.transient else REJECTED
    return _result(record, outcome, answer.status, answer.title, answer.describe(), answer.attempts)


def _result(
    record: LeaveWrite, outcome: str, status: int | None, title: str | None, detail: str | None, attempts: int
) -> WriteResult:
    return WriteResult(record.key, record.target, record.target_key, outcome, status, title, detail, attempts)

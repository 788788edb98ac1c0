"""The e-commerce store and its customers (mapping.md §4).

Customers are upserted with `PUT /ecommerce/stores/{store}/customers/{id}`: one by one for small sets,
through `/batches` for large ones (`batch_threshold`), where a batch costs no connection while it runs.

Created or updated? The PUT answer does not say, and `/batches` may run an operation twice when its
POST is retried, so the client looks before it writes: one `GET` per customer on the direct path, one
paged read of the store's customers (id and e-mail only) on the batch path. That read also shows a
changed e-mail. Mailchimp refuses to change a customer's e-mail ("An email address may not be changed
once a customer is created"), so a customer whose stored e-mail differs from the record (or whose
record names a `previous_email`) is deleted and put again under the same id: outcome `renamed`. If
the put after the delete fails, the detail says the old record is gone.

Operations that a batch answers with 429/5xx, or does not answer at all, are written again one by one,
where the client's retries apply; a batch that failed as a whole is written one by one too only if
it is small, otherwise its records are `failed` with the reason.

Large sets are split into batches of `batch_size` (5,000: a few MB of request each) and *all* are
submitted before any is awaited, up to the connection cap at a time. Mailchimp runs one batch at a time
per account, so splitting does not make it execute faster; what it buys is a pipeline: the first batch
starts while the client is still encoding the others, and each batch's results are downloaded and read
while the next one runs, so only the last archive is read after Mailchimp is done. (Waiting for a batch
before submitting the next would leave Mailchimp's queue idle in between.) Polling follows `PollPolicy`
(production: from 2 s, growing 1.5x, at most 30 s, since real batches take minutes); every thread polls
its own batch, one cheap GET per wait, and at the first wait again once its batch runs. Batched PUTs
ask `exclude_fields=_links,address`: the answer is judged by status, title and detail only, and the
archive shrinks to a third.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from jde_mc_pipeline.mailchimp.batches import (
    BatchRun,
    Operation,
    PollPolicy,
    SubmittedBatch,
    await_batch,
    encode_body,
    submit_batch,
)
from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError, StoreConflictError
from jde_mc_pipeline.mailchimp.records import CustomerWrite, WriteResult

PAGE = 1000
EMAIL_CHANGE_REFUSED = "may not be changed"
_ABSENT = ""  # "looked, and there is no such customer"
# Batched PUTs are judged by status, title and detail only: the links and the address are two thirds
# of each customer document in the results archive. Excluded rather than `fields=id`, so that a problem
# document keeps its title and detail whatever the server makes of `fields` on an error.
_TRIM = {"exclude_fields": "_links,address"}


def ensure_store(
    client: MailchimpClient, store_id: str, list_id: str, name: str, currency_code: str = "USD"
) -> dict[str, Any]:
    """The store, created bound to `list_id` when missing; `StoreConflictError` if bound to another list."""
    answer = client.call("GET", f"/ecommerce/stores/{quote(store_id, safe='')}")
    if answer.ok and isinstance(answer.body, dict):
        if answer.body.get("list_id") != list_id:
            raise StoreConflictError(
                f"E-commerce store {store_id!r} is bound to audience {answer.body.get('list_id')!r}, not "
                f"{list_id!r}; a store's audience cannot change: choose another MAILCHIMP_STORE_ID"
            )
        return answer.body
    if answer.status != 404:
        raise MailchimpApiError(
            f"Reading store {store_id!r} failed", answer.status, answer.title, answer.detail
        )
    body = {"id": store_id, "list_id": list_id, "name": name, "currency_code": currency_code}
    created = client.call("POST", "/ecommerce/stores", body=body)
    if not created.ok and created.ambiguous:  # an interrupted first attempt may have created it
        again = client.call("GET", f"/ecommerce/stores/{quote(store_id, safe='')}")
        created = again if again.ok else created
    if not created.ok:
        raise MailchimpApiError(
            f"Creating store {store_id!r} failed", created.status, created.title, created.detail
        )
    return created.body


def upsert_customers(
    client: MailchimpClient,
    store_id: str,
    records: Sequence[CustomerWrite],
    *,
    batch_threshold: int = 100,
    batch_size: int = 5000,
    poll: PollPolicy | None = None,
) -> list[WriteResult]:
    """Write every record; one `WriteResult` per record, in the order given."""
    results: dict[int, WriteResult] = {}
    valid: list[int] = []
    for index, record in enumerate(records):
        problem = _invalid(record)
        if problem:
            results[index] = _result(record, "rejected", None, "Invalid Record", problem, 0)
        else:
            valid.append(index)
    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="mc-customers") as pool:
        if len(valid) <= batch_threshold:
            for index, result in zip(
                valid, pool.map(lambda i: _direct(client, store_id, records[i]), valid), strict=True
            ):
                results[index] = result
        else:
            results.update(_through_batches(client, store_id, records, valid, batch_size, poll, pool))
    return [results[i] for i in range(len(records))]


def _through_batches(
    client: MailchimpClient,
    store_id: str,
    records: Sequence[CustomerWrite],
    valid: list[int],
    batch_size: int,
    poll: PollPolicy | None,
    pool: ThreadPoolExecutor,
) -> dict[int, WriteResult]:
    try:
        known = existing_customers(client, store_id, pool)
    except MailchimpApiError as exc:
        return {i: _result(records[i], "failed", exc.status, exc.title, str(exc), 0) for i in valid}
    results: dict[int, WriteResult] = {}
    one_by_one: list[tuple[int, str | None]] = []
    batched: list[int] = []
    taken: set[str] = set()
    for index in valid:
        record = records[index]
        stored = known.get(record.customer_id, _ABSENT)
        if _email_changed(record, stored):
            one_by_one.append((index, stored))
        elif record.key in taken or record.customer_id in taken:  # a repeat: written after the batches
            one_by_one.append((index, None))
        else:
            taken.update((record.key, record.customer_id))
            batched.append(index)
    groups = [batched[i : i + batch_size] for i in range(0, len(batched), batch_size)]
    # Every batch is submitted before any is awaited: Mailchimp runs them one after another, so a batch
    # submitted only when an earlier one is read back would leave its queue idle meanwhile.
    submitted = list(pool.map(lambda g: _submit(client, store_id, records, g), groups))
    runs = pool.map(lambda s: await_batch(client, s, poll), submitted)
    for group, run in zip(groups, runs, strict=True):
        for index in group:
            record = records[index]
            outcome = run.results.get(_op_id(record))
            stored = known.get(record.customer_id, _ABSENT)
            if outcome is None or outcome.status_code == 429 or outcome.status_code >= 500:
                if run.failure and len(group) > 100:
                    results[index] = _result(
                        record, "failed", run.failure_status, "Batch Failed", run.failure, run.attempts
                    )
                else:
                    one_by_one.append((index, None))
            elif 200 <= outcome.status_code < 300:
                results[index] = _result(
                    record, "updated" if stored else "created", outcome.status_code, None, None, 1
                )
            elif EMAIL_CHANGE_REFUSED in _text(outcome.response, "detail"):
                one_by_one.append((index, None))
            else:
                title = _text(outcome.response, "title") or f"HTTP {outcome.status_code}"
                results[index] = _result(
                    record,
                    "rejected",
                    outcome.status_code,
                    title,
                    _text(outcome.response, "detail") or None,
                    1,
                )
    for (index, _stored), result in zip(
        one_by_one,
        pool.map(lambda item: _direct(client, store_id, records[item[0]], item[1]), one_by_one),
        strict=True,
    ):
        results[index] = result
    return results


def existing_customers(client: MailchimpClient, store_id: str, pool: ThreadPoolExecutor) -> dict[str, str]:
    """Customer id → e-mail for the whole store, read in pages of 1000 (pages after the first in parallel)."""
    rows, total = _customer_page(client, store_id, 0)
    for more, _ in pool.map(
        lambda offset: _customer_page(client, store_id, offset), range(PAGE, total, PAGE)
    ):
        rows.extend(more)
    return {str(c.get("id")): str(c.get("email_address") or "") for c in rows}


def _customer_page(client: MailchimpClient, store_id: str, offset: int) -> tuple[list[dict[str, Any]], int]:
    answer = client.call(
        "GET",
        f"/ecommerce/stores/{quote(store_id, safe='')}/customers",
        params={
            "count": PAGE,
            "offset": offset,
            "fields": "customers.id,customers.email_address,total_items",
        },
    )
    if not answer.ok or not isinstance(answer.body, dict):
        raise MailchimpApiError(
            f"Reading the customers of store {store_id!r} failed", answer.status, answer.title, answer.detail
        )
    return list(answer.body.get("customers") or []), int(answer.body.get("total_items") or 0)


def _submit(
    client: MailchimpClient, store_id: str, records: Sequence[CustomerWrite], group: list[int]
) -> SubmittedBatch | BatchRun:
    prefix = _path(store_id, "")  # quoted once, not once per record
    # Bodies go in as JSON text: as dicts (holding the address dict) they would be 5,000 objects per
    # batch for the garbage collector to walk while the batch is being sent.
    operations = [
        Operation(
            "PUT",
            prefix + quote(records[i].customer_id, safe=""),
            _op_id(records[i]),
            encode_body(_body(records[i])),
            _TRIM,
        )
        for i in group
    ]
    return submit_batch(client, operations)


def _direct(
    client: MailchimpClient, store_id: str, record: CustomerWrite, stored: str | None = None
) -> WriteResult:
    """Look, then PUT (or DELETE and PUT when the e-mail changed). `stored` skips the look when known."""
    path = _path(store_id, record.customer_id)
    attempts = 0
    if stored is None:
        look = _call(client, "GET", path, record, params={"fields": "id,email_address"})
        attempts += look.attempts
        if look.status == 404:
            stored = _ABSENT
        elif look.ok and isinstance(look.body, dict):
            stored = str(look.body.get("email_address") or "")
        else:
            return _from_answer(record, look, attempts, "reading the customer failed")
    if _email_changed(record, stored):
        return _recreate(client, path, record, stored, attempts)
    put = _call(client, "PUT", path, record, body=_body(record))
    attempts += put.attempts
    if put.ok:
        return _result(record, "updated" if stored else "created", put.status, None, None, attempts)
    if put.status == 400 and EMAIL_CHANGE_REFUSED in (put.detail or ""):
        return _recreate(client, path, record, stored or "(unknown)", attempts)
    return _from_answer(record, put, attempts)


def _recreate(
    client: MailchimpClient, path: str, record: CustomerWrite, stored: str | None, attempts: int
) -> WriteResult:
    gone = _call(client, "DELETE", path, record)
    attempts += gone.attempts
    if not gone.ok and gone.status != 404:
        return _from_answer(record, gone, attempts, "deleting the customer to change its e-mail failed")
    put = _call(client, "PUT", path, record, body=_body(record))
    attempts += put.attempts
    if put.ok:
        before = stored or record.previous_email or "(none)"
        return _result(
            record, "renamed", put.status, None, f"customer re-created: e-mail was {before}", attempts
        )
    return _from_answer(
        record, put, attempts, "the customer with the old e-mail was deleted; re-creating it failed"
    )


def _call(
    client: MailchimpClient, method: str, path: str, record: CustomerWrite, **kwargs: Any
) -> ApiResponse:
    return client.call(
        method,
        path,
        target="ecommerce_customer",
        target_key=record.customer_id,
        record_keys=(record.key,),
        **kwargs,
    )


def _from_answer(
    record: CustomerWrite, answer: ApiResponse, attempts: int, what: str | None = None
) -> WriteResult:
    outcome = "failed" if answer.transient else "rejected"
    detail = "; ".join(p for p in (what, answer.detail) if p) or None
    return _result(record, outcome, answer.status, answer.title, detail, attempts)


def _email_changed(record: CustomerWrite, stored: str | None) -> bool:
    """True when a customer with this id exists (or is said to) under another e-mail."""
    if stored is None:  # not looked up yet: trust the record's own account of a change
        previous = (record.previous_email or "").strip().lower()
        return bool(previous) and previous != record.email_address.strip().lower()
    return bool(stored) and stored.strip().lower() != record.email_address.strip().lower()


def _invalid(record: CustomerWrite) -> str | None:
    if not isinstance(record.customer_id, str) or not 1 <= len(record.customer_id) <= 50:
        return "customer_id must be 1 to 50 characters"
    if not isinstance(record.email_address, str) or not record.email_address.strip():
        return "email_address is empty"
    if not isinstance(record.opt_in_status, bool):
        return "opt_in_status must be true or false"
    return None


def _body(record: CustomerWrite) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.customer_id,
        "email_address": record.email_address,
        "opt_in_status": record.opt_in_status,
    }
    for name in ("company", "first_name", "last_name"):
        value = getattr(record, name)
        if value:
            body[name] = value
    address = {k: v for k, v in (record.address or {}).items() if v}
    if address:
        body["address"] = address
    return body


def _path(store_id: str, customer_id: str) -> str:
    return f"/ecommerce/stores/{quote(store_id, safe='')}/customers/{quote(customer_id, safe='')}"


def _op_id(record: CustomerWrite) -> str:
    return record.key


def _text(response: Any, name: str) -> str:
    return str(response.get(name) or "") if isinstance(response, dict) else ""


def _result(
    record: CustomerWrite,
    outcome: str,
    status: int | None,
    title: str | None,
    detail: str | None,
    attempts: int,
) -> WriteResult:
    return WriteResult(
        record.key, "ecommerce_customer", str(record.customer_id), outcome, status, title, detail, attempts
    )

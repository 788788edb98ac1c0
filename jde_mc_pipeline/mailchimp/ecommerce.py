"""The e-commerce store and its customers (docs/mapping.md).

Customers are upserted with `PUT /ecommerce/stores/{store}/customers/{id}`, the id being the MD5 of the
e-mail: one by one for small sets, through `/batches` for large ones (`batch_threshold`), where a batch
costs no connection while it runs.

Created or updated? The PUT answer does not say (and `/batches` may run an operation twice when its
POST is retried), so it is settled before the write, without reading the whole store: an id the synced
state holds (`known`: the connector wrote it and has not deleted it since) exists; any other id is read
(customer_reads.py: one `GET` per id, or the store's pages when they are fewer), except a record that
replaces another e-mail's customer, `renamed` either way. An increment thus reads only its new
customers. Whatever the state says, the write itself is decided by Mailchimp: a PUT is an upsert, so a
customer the state does not know but Mailchimp holds (a lost audit file, one created by hand) is
updated, never duplicated, and reported `updated`; one the state holds but someone deleted in Mailchimp
is created again and reported `updated` too (the one label taken on the state's word).

Replacing a customer (`retires`: the old e-mail's customer after an e-mail change, or a customer kept
under a legacy AN8 id) never destroys first: the new customer is written, and only when that
succeeded are the retired ids deleted (a 404 means already gone). A failure in between leaves both
records and the outcome is `failed`: a replay or the next run finishes the move. One exception is forced
by Mailchimp's rule of one customer per e-mail: a legacy id holding the *same* e-mail blocks the new
id ("This customer email already exists"). Only after reading that a customer the record retires holds
exactly this e-mail (in the store's pages when they were read anyway, otherwise once the PUT is refused
so), that one is deleted and the new one written; if that write fails the outcome is `failed` with the
record, and the replay writes it again.

Operations that a batch answers with 429/5xx, or does not answer at all, are sent again one by one,
where the client's retries apply; a batch that failed as a whole is sent one by one too only if it is
small, otherwise its records are `failed` with the reason.

Large sets are split into batches of `batch_size` (5,000: a few MB of request each) and *all* are
submitted before any is awaited, up to the connection cap at a time. Mailchimp runs one batch at a time
per account, so splitting does not make it execute faster; what it buys is a pipeline: the first batch
starts while the client is still encoding the others, and each batch's results are downloaded and read
while the next one runs. Polling follows `PollPolicy` (production: from 2 s, growing 1.5x, at most
30 s, since real batches take minutes). A batch Mailchimp refuses for now (429: 500 batches of the
account are unfinished) is submitted again once the batches ahead have moved (batches.py). Batched
PUTs ask for no partial answer: Mailchimp ignores an operation's query on anything but a GET.
"""

from __future__ import annotations

import json
from collections.abc import Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from jde_mc_pipeline.mailchimp.batches import (
    Operation,
    PollPolicy,
    await_batch,
    encode_body,
    resubmit_when_refused,
    submit_batch,
)
from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.mailchimp.customer_reads import ABSENT, CustomerReader
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError, StoreConflictError
from jde_mc_pipeline.mailchimp.records import CustomerWrite, WriteResult
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER
from jde_mc_pipeline.mapping.outcomes import CREATED, FAILED, REJECTED, RENAMED, UPDATED

EMAIL_EXISTS = "already exists"
"""In the detail of a refusal: another customer of the store holds the e-mail."""
SMALL_FAILED_BATCH = 100
"""A batch that failed as a whole is sent again one by one when it is no larger than this."""


class _Answer(NamedTuple):
    """The answer to one call, whether it went direct or inside a batch (a tuple: 100,000s of them)."""

    status: int | None
    title: str | None
    detail: str | None
    attempts: int
    transient: bool

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """A DELETE's success: deleted now (2xx) or already (404)."""
        return self.ok or self.status == 404


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
    known: Set[str] = frozenset(),
) -> list[WriteResult]:
    """Write every record; one `WriteResult` per record, in the order given.

    `known`: customer ids the synced state holds (written by the connector and not deleted since): they
    are not read to tell created from updated (module doc)."""
    results: dict[int, WriteResult] = {}
    valid: list[int] = []
    for index, record in enumerate(records):
        problem = _invalid(record)
        if problem:
            results[index] = _result(record, REJECTED, None, "Invalid Record", problem, 0)
        else:
            valid.append(index)
    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="mc-customers") as pool:
        if len(valid) <= batch_threshold:
            for index, result in zip(
                valid, pool.map(lambda i: _direct(client, store_id, records[i], known), valid), strict=True
            ):
                results[index] = result
        else:
            calls = _Calls(client, pool, batch_size, poll)
            results.update(_through_batches(calls, store_id, records, valid, known))
    return [results[i] for i in range(len(records))]


def delete_customer(client: MailchimpClient, store_id: str, customer_id: str, key: str) -> ApiResponse:
    """`DELETE` one customer (a 404 means it is already gone)."""
    return _call(client, "DELETE", _path(store_id, customer_id), customer_id, key)


# -- one by one ------------------------------------------------------------------------------------


def _direct(client: MailchimpClient, store_id: str, record: CustomerWrite, known: Set[str]) -> WriteResult:
    """Look (unless the state holds the id, or the outcome is `renamed` anyway), PUT, then delete what the
    record retires (module doc)."""
    path = _path(store_id, record.customer_id)
    attempts, stored = 0, record.email_address if record.customer_id in known else ABSENT
    if not stored and not _renames(record):
        look = _call(
            client, "GET", path, record.customer_id, record.key, params={"fields": "id,email_address"}
        )
        attempts = look.attempts
        if look.ok and isinstance(look.body, dict):
            stored = str(look.body.get("email_address") or "")
        elif look.status != 404:
            return _from_answer(record, _answer(look), attempts, "reading the customer failed")
    put = _answer(_call(client, "PUT", path, record.customer_id, record.key, body=_body(record)))
    attempts += put.attempts
    retired: list[str] = []
    if not put.ok and EMAIL_EXISTS in (put.detail or "") and record.retires:
        freed, more, why = _free_email(client, store_id, record)
        attempts += more
        if why:
            return _from_answer(record, put, attempts, why)
        retired += freed
        stored = record.email_address  # the customer existed, under its legacy id
        put = _answer(_call(client, "PUT", path, record.customer_id, record.key, body=_body(record)))
        attempts += put.attempts
        if not put.ok:
            note = f"customer {', '.join(freed)} (same e-mail, legacy id) was deleted to free the e-mail"
            return _from_answer(record, put, attempts, f"{note}; writing {record.customer_id} failed")
    if not put.ok:
        return _from_answer(record, put, attempts)
    for key in record.retires:
        if key in retired:
            continue
        gone = _answer(_call(client, "DELETE", _path(store_id, key), key, record.key))
        attempts += gone.attempts
        if not gone.gone:
            return _from_answer(
                record, gone, attempts, f"customer written; deleting the old customer {key} failed"
            )
        retired.append(key)
    return _written(record, bool(stored), put.status, attempts, retired)


def _free_email(client: MailchimpClient, store_id: str, record: CustomerWrite) -> tuple[list[str], int, str]:
    """Delete the retired customers that hold exactly this e-mail: (ids deleted, calls, why not)."""
    attempts, freed = 0, []
    for key in record.retires:
        look = _call(client, "GET", _path(store_id, key), key, record.key, params={"fields": "email_address"})
        attempts += look.attempts
        if look.ok and isinstance(look.body, dict) and _same(look.body.get("email_address"), record):
            gone = _answer(_call(client, "DELETE", _path(store_id, key), key, record.key))
            attempts += gone.attempts
            if not gone.gone:
                return freed, attempts, f"deleting customer {key}, which holds this e-mail, failed"
            freed.append(key)
    if not freed:
        return freed, attempts, "the e-mail belongs to a customer this record does not replace"
    return freed, attempts, ""


# -- through /batches ------------------------------------------------------------------------------


class _Calls:
    """Many calls at once: direct (with the client's retries) when few, through `/batches` when many,
    and the batch operations Mailchimp answered with 429/5xx (or not at all) again one by one."""

    def __init__(
        self, client: MailchimpClient, pool: ThreadPoolExecutor, batch_size: int, poll: PollPolicy | None
    ) -> None:
        self.client, self.pool, self.batch_size, self.poll = client, pool, batch_size, poll

    def run(self, operations: list[Operation], record_keys: list[str]) -> list[_Answer]:
        """One answer per operation, in order (their ids are their positions); `record_keys`: the AN8 each
        one is written for."""
        groups = [
            range(i, min(i + self.batch_size, len(operations)))
            for i in range(0, len(operations), self.batch_size)
        ]
        # Every batch is submitted before any is awaited: Mailchimp runs them one after another, so a
        # batch submitted only when an earlier one is read back would leave its queue idle meanwhile.
        batched = [[operations[i] for i in g] for g in groups]
        submitted = list(self.pool.map(lambda ops: submit_batch(self.client, ops), batched))
        runs = self.pool.map(
            lambda k: await_batch(
                self.client,
                resubmit_when_refused(self.client, batched[k], submitted[k], self.poll),
                self.poll,
            ),
            range(len(groups)),
        )
        answers: list[Any] = [None] * len(operations)  # every position is answered below
        again: list[int] = []
        for group, run in zip(groups, runs, strict=True):
            for i in group:
                result = run.results.get(operations[i].operation_id)
                if result is not None and result.status_code != 429 and result.status_code < 500:
                    status, response = result.status_code, result.response
                    title = _text(response, "title") or (f"HTTP {status}" if status >= 400 else None)
                    answers[i] = _Answer(status, title, _text(response, "detail") or None, 1, False)
                elif run.failure and len(group) > SMALL_FAILED_BATCH:
                    answers[i] = _Answer(run.failure_status, "Batch Failed", run.failure, run.attempts, True)
                else:
                    again.append(i)
        for i, answer in zip(
            again, self.pool.map(lambda i: self._one(operations[i], record_keys[i]), again), strict=True
        ):
            answers[i] = answer
        return answers

    def _one(self, op: Operation, key: str) -> _Answer:
        """A batch operation sent on its own, with the client's retries."""
        body = json.loads(op.body) if isinstance(op.body, str) else op.body
        customer_id = unquote(op.path.rsplit("/", 1)[1])
        return _answer(_call(self.client, op.method, op.path, customer_id, key, body=body))


def _through_batches(
    calls: _Calls, store_id: str, records: Sequence[CustomerWrite], valid: list[int], known: Set[str]
) -> dict[int, WriteResult]:
    """PUT every record through batches, then delete what they retire (module doc).

    First, only the ids whose outcome depends on it and that the synced state does not hold (`known`)
    are read, to tell created from updated. Then four rounds at most: the PUTs; the DELETEs of the
    retired ids (of the records written, and of the legacy ids that a refusal's read showed to hold a
    record's own e-mail); the PUTs of the records those legacy ids blocked; the DELETEs of what else
    those retire (none in practice). When that first read took the whole store (a first load, the move
    of the first release's ids), the legacy ids holding a record's e-mail are known from it: those
    records skip the first PUT, refused for sure.
    """
    reader = CustomerReader(calls.client, store_id, calls.pool)
    asked = [records[i].customer_id for i in valid if not _renames(records[i])]
    try:
        held = reader.emails([cid for cid in asked if cid not in known])
    except MailchimpApiError as exc:
        return {i: _result(records[i], FAILED, exc.status, exc.title, str(exc), 0) for i in valid}
    prefix = _path(store_id, "")  # quoted once, not once per record
    early: dict[int, list[str]] = {}
    if reader.complete:  # answered from what was read: no request
        retired = reader.emails({k for i in valid for k in records[i].retires})
        early = {
            i: keys
            for i in valid
            if (keys := [k for k in records[i].retires if _same(retired[k], records[i])])
        }
    puts = _put_round(calls, prefix, records, [i for i in valid if i not in early])
    refused = [i for i, put in puts.items() if _blocked(put, records[i])]
    try:
        holding = reader.emails({k for i in refused for k in records[i].retires})
    except MailchimpApiError as exc:
        holding, why = {}, f"reading the customers this record replaces failed: {exc}"
        puts.update({i: puts[i]._replace(detail=why, transient=True) for i in refused})
        refused = []
    blocking = early | {
        i: [k for k in records[i].retires if _same(holding.get(k), records[i])] for i in refused
    }
    doomed = {k: records[i].key for i, keys in blocking.items() for k in keys}
    doomed.update({k: records[i].key for i, put in puts.items() if put.ok for k in records[i].retires})
    gone = _delete_round(calls, prefix, doomed)
    freed = [i for i, keys in blocking.items() if keys and all(gone[k].gone for k in keys)]
    puts.update(_put_round(calls, prefix, records, freed))
    rest = {k: records[i].key for i in freed if puts[i].ok for k in records[i].retires if k not in gone}
    gone.update(_delete_round(calls, prefix, rest))
    results: dict[int, WriteResult] = {}
    for i in valid:
        record, put, moved = records[i], puts.get(i), blocking.get(i)
        if moved is not None and not moved:
            why = "the e-mail belongs to a customer this record does not replace"
            results[i] = _from_answer(record, put, put.attempts, why)
        elif moved and i not in freed:  # a legacy customer holding the e-mail could not be deleted
            bad = next(gone[k] for k in moved if not gone[k].gone)
            what = "deleting the legacy customer that holds this e-mail failed"
            results[i] = _from_answer(record, bad, bad.attempts, what)
        elif not put.ok:
            what = (f"customer {', '.join(moved)} (same e-mail, legacy id) was deleted to free the e-mail; "
                    f"writing {record.customer_id} failed") if moved else None  # fmt: skip
            results[i] = _from_answer(record, put, put.attempts, what)
        else:
            bad_key = next((k for k in record.retires if not gone[k].gone), None)
            if bad_key is None:
                existed = bool(moved) or record.customer_id in known or bool(held.get(record.customer_id))
                results[i] = _written(record, existed, put.status, put.attempts, list(record.retires))
            else:
                what = f"customer written; deleting the old customer {bad_key} failed"
                results[i] = _from_answer(record, gone[bad_key], put.attempts, what)
    return results


def _put_round(
    calls: _Calls, prefix: str, records: Sequence[CustomerWrite], indexes: list[int]
) -> dict[int, _Answer]:
    answers = calls.run(_put_ops(prefix, records, indexes), [records[i].key for i in indexes])
    return dict(zip(indexes, answers, strict=True))


def _delete_round(calls: _Calls, prefix: str, doomed: dict[str, str]) -> dict[str, _Answer]:
    """DELETE each customer id (→ the AN8 it is deleted for); the answer per id."""
    deletes = [Operation("DELETE", prefix + quote(k, safe=""), str(n)) for n, k in enumerate(doomed)]
    return dict(zip(doomed, calls.run(deletes, list(doomed.values())), strict=True))


def _blocked(put: _Answer, record: CustomerWrite) -> bool:
    """Refused because another customer holds the e-mail, while the record replaces some customer."""
    return not put.ok and EMAIL_EXISTS in (put.detail or "") and bool(record.retires)


def _renames(record: CustomerWrite) -> bool:
    """The record replaces the customer of another e-mail: `renamed` whether its own id existed or not."""
    previous = record.previous_email
    return bool(previous) and previous.strip().lower() != record.email_address.strip().lower()


def _put_ops(prefix: str, records: Sequence[CustomerWrite], indexes: list[int]) -> list[Operation]:
    # Bodies go in as JSON text: as dicts (holding the address dict) they would be 5,000 objects per
    # batch for the garbage collector to walk while the batch is being sent.
    return [
        Operation(
            "PUT",
            prefix + quote(records[i].customer_id, safe=""),
            str(n),
            encode_body(_body(records[i])),
        )
        for n, i in enumerate(indexes)
    ]


# -- shared ----------------------------------------------------------------------------------------


def _call(
    client: MailchimpClient, method: str, path: str, customer_id: str, key: str, **kwargs: Any
) -> ApiResponse:
    return client.call(
        method, path, target=ECOMMERCE_CUSTOMER, target_key=customer_id, record_keys=(key,), **kwargs
    )


def _answer(response: ApiResponse) -> _Answer:
    return _Answer(response.status, response.title, response.detail, response.attempts, response.transient)


def _written(
    record: CustomerWrite, existed: bool, status: int | None, attempts: int, retired: list[str]
) -> WriteResult:
    """The result of a customer written, with what it replaced."""
    gone = f"old customer {', '.join(retired)} deleted" if retired else None
    if _renames(record):
        detail = f"customer of {record.previous_email} replaced" + (f"; {gone}" if gone else "")
        return _result(record, RENAMED, status, None, detail, attempts)
    return _result(record, UPDATED if existed else CREATED, status, None, gone, attempts)


def _from_answer(
    record: CustomerWrite, answer: _Answer, attempts: int, what: str | None = None
) -> WriteResult:
    outcome = FAILED if answer.transient else REJECTED
    detail = "; ".join(p for p in (what, answer.detail) if p) or None
    return _result(record, outcome, answer.status, answer.title, detail, attempts)


def _same(email: Any, record: CustomerWrite) -> bool:
    return (
        isinstance(email, str)
        and bool(email)
        and email.strip().lower() == record.email_address.strip().lower()
    )


def _invalid(record: CustomerWrite) -> str | None:
    if not isinstance(record.customer_id, str) or not 1 <= len(record.customer_id) <= 50:
        return "customer_id must be 1 to 50 characters"
    if not isinstance(record.email_address, str) or not record.email_address.strip():
        return "email_address is empty"
    if not isinstance(record.opt_in_status, bool):
        return "opt_in_status must be true or false"
    return None


def _body(record: CustomerWrite) -> dict[str, Any]:
    """The PUT body: None fields are left out, an empty string is sent (it clears, `blank_clears`)."""
    body: dict[str, Any] = {
        "id": record.customer_id,
        "email_address": record.email_address,
        "opt_in_status": record.opt_in_status,
    }
    for name in ("company", "first_name", "last_name"):
        value = getattr(record, name)
        if value is not None:
            body[name] = value
    if record.address is not None:
        body["address"] = dict(record.address)
    return body


def _path(store_id: str, customer_id: str) -> str:
    return f"/ecommerce/stores/{quote(store_id, safe='')}/customers/{quote(customer_id, safe='')}"


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
        record.key, ECOMMERCE_CUSTOMER, str(record.customer_id), outcome, status, title, detail, attempts
    )

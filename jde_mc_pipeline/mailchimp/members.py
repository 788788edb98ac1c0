"""Upserting audience contacts: batch subscribe (`POST /lists/{list_id}`), renames, owned tags.

Why batch subscribe and not one PUT per member: 500 members per call is what makes 100,000 contacts a
matter of 200 calls over the connection cap. Every member is sent with `status_if_new` and never
`status`, with `update_existing: true`, so an unsubscribed or cleaned contact keeps its state.

Each record gets exactly one `WriteResult`:
- `created` / `updated` from `new_members` / `updated_members`, matched by lower-cased e-mail;
- `rejected` from the call's per-member `errors[]` (Mailchimp gives a message and an error code there,
  not a title; the title of the equivalent single-member answer is derived from the message);
- a whole call refused with a 400 is split in halves until the bad record is isolated, so one
  malformed member cannot sink 499 others; other refusals (401/403/404) and transient trouble that
  outlived the retries make every record of the call `failed`, with the reason.
Honesty about retries: batch subscribe with `update_existing` is an upsert, so re-sending it after a
lost connection does no harm, but a member the interrupted attempt created is then reported by
Mailchimp as updated. Such results stay `updated` and their detail says the attempt was ambiguous.

Renames (`previous_email`) are a PATCH of the old hash with the new address (contact, history, tags and
subscription state follow the person). If the old hash is gone, or the new address already belongs to
another member, that member is upserted instead and the detail says so (docs/mapping.md).

Retired members (`retires`: old addresses no JDE party uses any more, whose person moved onto an address
another member already had) keep their contact and consent; only `retire_tags` are set inactive on
them, after the record's own write succeeded. A retired member that is gone (404) needs nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient
from jde_mc_pipeline.mailchimp.records import MemberWrite, WriteResult
from jde_mc_pipeline.mailchimp.tags import set_member_tags, tag_changes
from jde_mc_pipeline.mapping.options import LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import CREATED, FAILED, REJECTED, RENAMED, SUCCESSFUL, UPDATED

BATCH_SUBSCRIBE_MAX = 500
STATUSES_IF_NEW = ("subscribed", "pending", "transactional")
# Only what the mapping back and the drift report need (the status when written: a contact already
# unsubscribed then is not news, sync/drift.py): a full member object per contact would multiply the answer.
TRIMMED_FIELDS = (
    ",".join(
        f"{part}.{name}"
        for part in ("new_members", "updated_members")
        for name in ("email_address", "status", "tags", "tags_count")
    )
    + ",errors,total_created,total_updated,error_count"
)
_ERROR_TITLES = (
    ("compliance state", "Member In Compliance State"),
    ("permanently deleted", "Forgotten Email Not Subscribed"),
    ("already a list member", "Member Exists"),
    ("looks fake or invalid", "Invalid Resource"),
    ("valid email address", "Invalid Resource"),
    ("merge fields were invalid", "Invalid Resource"),
    ("signed up to a lot of lists", "Invalid Resource"),
)
AMBIGUOUS_UPDATE = (
    "reported as updated after a retry of an interrupted call: that earlier attempt may have created it"
)


def subscriber_hash(email: str) -> str:
    """MD5 of the lower-cased address: the member's id in every URL."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


@dataclass(slots=True)
class _Pending:
    """A record on its way: its position, and a note to carry into the result (rename fallbacks)."""

    index: int
    record: MemberWrite
    note: str | None = None
    attempts: int = 0


def upsert_members(
    client: MailchimpClient,
    list_id: str,
    records: Sequence[MemberWrite],
    *,
    chunk_size: int = BATCH_SUBSCRIBE_MAX,
    trim_response: bool = True,
) -> list[WriteResult]:
    """Write every record; returns one `WriteResult` per record, in the order given."""
    chunk_size = max(1, min(chunk_size, BATCH_SUBSCRIBE_MAX))
    results: dict[int, WriteResult] = {}
    follow_ups: list[tuple[int, list[str], list[str]]] = []  # (index, tags to activate, to deactivate)
    to_upsert: list[_Pending] = []
    renames: list[_Pending] = []
    for index, record in enumerate(records):
        problem = _invalid(record)
        if problem:
            results[index] = _result(record, REJECTED, None, "Invalid Record", problem, 0)
        elif (
            record.previous_email
            and record.previous_email.strip().lower() != record.email_address.strip().lower()
        ):
            renames.append(_Pending(index, record))
        else:
            to_upsert.append(_Pending(index, record))

    with ThreadPoolExecutor(max_workers=client.max_connections, thread_name_prefix="mc-members") as pool:
        # Tag follow-ups are judged as each answer arrives, so that the member objects are dropped with
        # their answer: kept for all records, they made the garbage collector walk them again and again.
        for pending, outcome in zip(
            renames, pool.map(lambda p: _rename(client, list_id, p), renames), strict=True
        ):
            if isinstance(outcome, _Pending):
                to_upsert.append(outcome)
            else:
                results[pending.index] = outcome[0]
                _follow_up(follow_ups, pending.index, records[pending.index], outcome[0], outcome[1], False)
        for round_ in _rounds(to_upsert):
            chunks = [round_[i : i + chunk_size] for i in range(0, len(round_), chunk_size)]
            for done in pool.map(lambda c: _subscribe(client, list_id, c, trim_response), chunks):
                for index, result, member in done:
                    results[index] = result
                    if member is not None:
                        _follow_up(follow_ups, index, records[index], result, member, True)
        for (index, *_), result in zip(
            follow_ups,
            pool.map(lambda f: _tags(client, list_id, records[f[0]], results[f[0]], f[1], f[2]), follow_ups),
            strict=True,
        ):
            results[index] = result
        retiring = [i for i, r in enumerate(records) if r.retires and results[i].outcome in SUCCESSFUL]
        for index, result in zip(
            retiring,
            pool.map(lambda i: _retire(client, list_id, records[i], results[i]), retiring),
            strict=True,
        ):
            results[index] = result
    return [results[i] for i in range(len(records))]


def _retire(client: MailchimpClient, list_id: str, record: MemberWrite, result: WriteResult) -> WriteResult:
    """Set the record's `retire_tags` inactive on each member it retires (module doc)."""
    attempts = result.attempts
    for old in record.retires:
        answer = set_member_tags(client, list_id, old, [], list(record.retire_tags), record.key)
        attempts += answer.attempts
        if not answer.ok and answer.status != 404:
            outcome = FAILED if answer.transient else REJECTED
            detail = f"member {result.outcome}; setting the old member {old}'s tags inactive failed"
            return replace(
                result,
                outcome=outcome,
                status_code=answer.status,
                title=answer.title,
                detail=_join(detail, answer.describe(), result.detail),
                attempts=attempts,
            )
    note = f"old member {', '.join(record.retires)} left as it is, its tags set inactive"
    return replace(result, detail=_join(result.detail, note), attempts=attempts)


def _follow_up(
    follow_ups: list[tuple[int, list[str], list[str]]],
    index: int,
    record: MemberWrite,
    result: WriteResult,
    member: Any,
    sent: bool,
) -> None:
    """Note the `/tags` call a written member still needs (`sent`: its tags rode with the write)."""
    if result.outcome in SUCCESSFUL:
        activate, deactivate = tag_changes(record, member, sent)
        if activate or deactivate:
            follow_ups.append((index, activate, deactivate))


def _invalid(record: MemberWrite) -> str | None:
    """Problems that would break a whole call for everyone: caught here and reported on the record."""
    if not isinstance(record.email_address, str) or not record.email_address.strip():
        return "email_address is empty"
    if record.status_if_new not in STATUSES_IF_NEW:
        return f"status_if_new must be one of {', '.join(STATUSES_IF_NEW)}, got {record.status_if_new!r}"
    if not isinstance(record.merge_fields, dict):
        return "merge_fields must be an object"
    if record.tags_inactive and set(record.tags_active) & set(record.tags_inactive):
        return "a tag cannot be both active and inactive"
    for bad, value in record.merge_fields.items():
        if type(value) is str or _plain(value):  # text first: by far the most common, and cheapest
            continue
        return (
            f"merge field {bad!r} holds a value that cannot be sent (text, number or address object expected)"
        )
    return None


def _plain(value: Any) -> bool:
    """A JSON-safe merge value: text, a finite number, or an object of text (an address)."""
    if isinstance(value, str | int):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _rounds(pending: list[_Pending]) -> list[list[_Pending]]:
    """Split so that no call carries one address twice (later duplicates go in later rounds)."""
    rounds: list[list[_Pending]] = []
    seen: dict[str, int] = {}
    for item in pending:
        email = item.record.email_address.strip().lower()
        n = seen.get(email, 0)
        seen[email] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(item)
    return rounds


def _subscribe(
    client: MailchimpClient, list_id: str, chunk: list[_Pending], trim: bool
) -> list[tuple[int, WriteResult, Any]]:
    body = {"members": [subscribe_entry(p.record) for p in chunk], "update_existing": True}
    answer = client.call(
        "POST",
        f"/lists/{list_id}",
        body=body,
        params={"fields": TRIMMED_FIELDS} if trim else None,
        target=LIST_MEMBER,
        record_keys=[p.record.key for p in chunk],
    )
    if answer.ok and isinstance(answer.body, dict):
        index = _index_answer(answer.body)
        return [_from_batch_answer(p, answer, index) for p in chunk]
    if answer.status == 400 and len(chunk) > 1:
        half = len(chunk) // 2
        charged = [replace(p, attempts=p.attempts + answer.attempts) for p in chunk]
        return _subscribe(client, list_id, charged[:half], trim) + _subscribe(
            client, list_id, charged[half:], trim
        )
    outcome = REJECTED if answer.status == 400 else FAILED
    return [
        (
            p.index,
            _result(
                p.record,
                outcome,
                answer.status,
                answer.title,
                _join(answer.detail, p.note),
                p.attempts + answer.attempts,
            ),
            None,
        )
        for p in chunk
    ]


def subscribe_entry(record: MemberWrite) -> dict[str, Any]:
    """One `members[]` entry of batch subscribe: `status_if_new`, never `status`; active tags ride along."""
    member: dict[str, Any] = {
        "email_address": record.email_address,
        "status_if_new": record.status_if_new,
        "merge_fields": record.merge_fields,
    }
    if record.tags_active:
        # The record's own tuple (sent as a JSON array): no new list per member, so the entry holds only
        # untracked values and costs the garbage collector nothing while the call is in flight.
        member["tags"] = record.tags_active
    return member


def _index_answer(body: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Lower-cased e-mail → (CREATED, UPDATED or "error", entry), built once per answer."""
    index: dict[str, tuple[str, Any]] = {}
    for part, outcome in (("new_members", CREATED), ("updated_members", UPDATED), ("errors", "error")):
        for entry in body.get(part) or []:
            if isinstance(entry, dict):
                index[str(entry.get("email_address", "")).strip().lower()] = (outcome, entry)
    return index


def _from_batch_answer(
    pending: _Pending, answer: ApiResponse, index: dict[str, tuple[str, Any]]
) -> tuple[int, WriteResult, Any]:
    record = pending.record
    attempts = pending.attempts + answer.attempts
    found = index.get(record.email_address.strip().lower())
    if found is None:
        detail = _join("Mailchimp's batch subscribe answer does not mention this address", pending.note)
        return (
            pending.index,
            _result(record, FAILED, answer.status, "Missing From Answer", detail, attempts),
            None,
        )
    outcome, entry = found
    if outcome == "error":
        title, detail = _member_error(entry)
        return (
            pending.index,
            _result(record, REJECTED, answer.status, title, _join(detail, pending.note), attempts),
            None,
        )
    note = AMBIGUOUS_UPDATE if outcome == UPDATED and answer.ambiguous else None
    return (
        pending.index,
        _result(record, outcome, answer.status, None, _join(note, pending.note), attempts),
        entry,
    )


def _member_error(error: dict[str, Any]) -> tuple[str, str]:
    """Title and detail of one `errors[]` entry (its `title`, if any, else derived from the message)."""
    message = str(error.get("error") or "")
    title = error.get("title")
    if not title:
        lowered = message.lower()
        title = next((t for marker, t in _ERROR_TITLES if marker in lowered), None)
    if not title and error.get("field"):
        title = "Invalid Resource"
    field = f"[{error['field']}: {error.get('field_message', '')}]" if error.get("field") else None
    return str(title or error.get("error_code") or "Rejected"), _join(message, field) or ""


def _rename(client: MailchimpClient, list_id: str, pending: _Pending) -> _Pending | tuple[WriteResult, Any]:
    """PATCH the old hash with the new address; a `_Pending` back means "upsert it instead"."""
    record = pending.record
    old = subscriber_hash(record.previous_email or "")
    answer = client.call(
        "PATCH",
        f"/lists/{list_id}/members/{old}",
        body={"email_address": record.email_address, "merge_fields": record.merge_fields},
        target=LIST_MEMBER,
        target_key=old,
        record_keys=(record.key,),
    )
    if answer.ok:
        return _result(
            record, RENAMED, answer.status, None, f"renamed from member {old}", answer.attempts
        ), answer.body
    if answer.status == 404:
        note = (
            f"an interrupted rename attempt probably renamed member {old} already; upserted the new address"
            if answer.ambiguous
            else f"previous address (member {old}) is not in the audience; upserted the new address"
        )
        return replace(pending, note=note, attempts=answer.attempts)
    if answer.status == 400 and answer.title == "Member Exists":
        note = (
            f"rename refused: {record.email_address} already belongs to another member, which was upserted "
            f"instead; member {old} (previous address) was left as is"
        )
        return replace(pending, note=note, attempts=answer.attempts)
    outcome = FAILED if answer.transient else REJECTED
    return _result(record, outcome, answer.status, answer.title, answer.detail, answer.attempts), None


def _tags(
    client: MailchimpClient,
    list_id: str,
    record: MemberWrite,
    result: WriteResult,
    activate: list[str],
    deactivate: list[str],
) -> WriteResult:
    answer = set_member_tags(client, list_id, result.target_key, activate, deactivate, record.key)
    attempts = result.attempts + answer.attempts
    if answer.ok:
        return replace(result, attempts=attempts)
    outcome = FAILED if answer.transient else REJECTED
    detail = f"member {result.outcome}, but its tags were not updated: {answer.describe()}"
    return replace(
        result,
        outcome=outcome,
        status_code=answer.status,
        title=answer.title,
        detail=_join(detail, result.detail),
        attempts=attempts,
    )


def _result(
    record: MemberWrite,
    outcome: str,
    status: int | None,
    title: str | None,
    detail: str | None,
    attempts: int,
) -> WriteResult:
    email = record.email_address if isinstance(record.email_address, str) else ""
    return WriteResult(
        record.key, LIST_MEMBER, subscriber_hash(email), outcome, status, title, detail, attempts
    )


def _join(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None

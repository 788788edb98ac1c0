"""A record's history from the audit store: what `jde-mc history` prints and the `record_history` job shows.

Why one module for both, without Dagster: the question "what happened to AN8 1024 (or jane@acme.com)?"
is asked from a terminal as often as from the UI, and both must tell the same story. It replaces the
hand-written SQL of docs/audit.md: the AN8s an e-mail belonged to (from the mapped values, the pulled
e-mail rows, the synced state and the member hashes of the outcomes), the e-mails an AN8 had over time,
and per target (`list_member`, `ecommerce_customer`): when the record was last checked (its newest
outcome, `unchanged` included) and last synced (its newest successful write), by which run, what was sent
and what Mailchimp answered, every outcome with its reason, the mapping events, the field changes, the
renames, departures, refusals and replays.

Only `SELECT`s with `?` placeholders that DuckDB and PostgreSQL read alike (`store.query`), so a
read-only store of either backend does. Writes are found by the AN8s their `record_key` carries: a batch
call carries hundreds of records, so its request and answer are trimmed to the entries of this record's
e-mails. Bodies hold no secret (the client never records credentials); long ones are cut to
`BODY_LIMIT` characters.

The result is a plain dict of JSON values, its keys documented in docs/cli.md (`--json`), so that
scripts, the text (audit/history_text.py: the command's and the Dagster report's) read the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline.mailchimp.members import subscriber_hash
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, TARGETS
from jde_mc_pipeline.mapping.outcomes import REJECTED_PREFIX, RENAMED, SUCCESSFUL, SUPERSEDED

BODY_LIMIT = 2000
"""Characters of one request or response body kept in a history (the rest is cut, marked `…`)."""
BATCH_KEYS = ("members", "new_members", "updated_members", "errors")
"""The lists of a batch-subscribe body and answer that hold one entry per contact."""
EMAIL_KEYS = ("email", "an8", "first_run_id", "first_seen_at", "last_run_id", "last_seen_at")
"""An entry of `emails`: an e-mail the parties were mapped with, and the first and last run that did."""


class RecordNotFoundError(LookupError):
    """Nothing in the audit store names this AN8 or e-mail."""


def record_history(store: AnyAuditStore, an8_or_email: str) -> dict[str, Any]:
    """The history of the party (or parties) `an8_or_email` names (module doc); raises `RecordNotFoundError`
    when the audit knows neither, `ValueError` when it is neither an AN8 nor an e-mail."""
    asked = an8_or_email.strip()
    an8s = _an8s_of(store, asked)
    if not an8s:
        raise RecordNotFoundError(f"the audit store ({store.location}) knows no party with {_named(asked)}")
    outcomes = _frame(store, "sync_outcomes", an8s, "decided_at")
    mapped = _frame(store, "mapped_values", an8s, "mapped_at")
    emails = _emails(mapped, asked)
    state = _state(store, an8s, [e["email"] for e in emails])
    events = _frame(store, "mapping_events", an8s, "noted_at")
    departures = _frame(store, "synced_departures", an8s, "left_at")
    rejections = _frame(store, "synced_rejections", an8s, "rejected_at")
    deleted = _frame(store, "jde_deleted", an8s, "found_at")
    keys = sorted({k for k in [*outcomes["target_key"], *state["target_key"]] if isinstance(k, str)})
    named = [
        outcomes["run_id"],
        outcomes["resolved_by"],
        mapped["run_id"],
        events["run_id"],
        departures["run_id"],
    ]
    run_ids = sorted({r for column in named for r in column if isinstance(r, str)})
    writes = _writes(store, an8s, keys, run_ids)
    runs = _runs(store, run_ids)
    return {
        "asked": asked,
        "audit": store.location,
        "an8s": an8s,
        "emails": emails,
        "deleted_in_jde": [_stamped(row, "found_at") for row in _records(deleted)],
        "runs": runs,
        "targets": {
            target: _target(
                target,
                _only(outcomes, target),
                _only(mapped, target),
                _only(events, target),
                _only(state, target),
                _only(departures, target),
                _only(rejections, target),
                _only(writes, target),
                runs,
                [e["email"] for e in emails],
            )
            for target in TARGETS
        },
    }


# -- which parties ---------------------------------------------------------------------------------------


def _an8s_of(store: AnyAuditStore, asked: str) -> list[int]:
    """The AN8s the audit knows under `asked`: itself when it is an AN8, every party that had the e-mail."""
    if asked.isdigit():
        an8 = int(asked)
        for table in ("sync_outcomes", "jde_pulls", "mapped_values", "synced_departures", "mapping_events"):
            if not store.query(f"SELECT 1 AS found FROM {table} WHERE an8 = ? LIMIT 1", [an8]).empty:
                return [an8]
        return []
    if "@" not in asked:
        raise ValueError(f"{asked!r} is neither an AN8 (digits) nor an e-mail address")
    email = asked.lower()
    found: set[int] = set()
    for sql, params in (
        (
            "SELECT DISTINCT an8 FROM mapped_values "
            "WHERE field = 'email_address' AND lower(mapped_value) = ?",
            [email],
        ),
        (
            "SELECT DISTINCT an8 FROM jde_pulls WHERE table_name = 'F01151' AND lower(row_json->>'EMAL') = ?",
            [email],
        ),
        ("SELECT DISTINCT an8 FROM sync_outcomes WHERE target_key = ?", [subscriber_hash(email)]),
        ("SELECT an8, an8s FROM synced_state WHERE lower(email) = ?", [email]),
    ):
        frame = store.query(sql, params)
        found.update(int(a) for a in frame["an8"])
        for group in frame.get("an8s", ()):
            found.update(int(a) for a in _list(group))
    return sorted(found)


def _emails(mapped: pd.DataFrame, asked: str) -> list[dict[str, Any]]:
    """Every e-mail the parties were mapped with, in the order they had them: first and last run."""
    rows = mapped.loc[mapped["field"] == "email_address"].sort_values("mapped_at", kind="stable")
    seen: dict[str, dict[str, Any]] = {}
    for row in _records(rows):
        email = str(row["mapped_value"] or "").lower()
        if not email:
            continue
        at = _when(row["mapped_at"])
        entry = seen.setdefault(email, {"email": email, "an8": row["an8"], "first_run_id": row["run_id"]})
        entry.setdefault("first_seen_at", at)
        entry.update(last_run_id=row["run_id"], last_seen_at=at)
    if "@" in asked and asked.lower() not in seen:
        seen[asked.lower()] = dict.fromkeys(EMAIL_KEYS) | {"email": asked.lower()}
    return list(seen.values())


# -- reads -----------------------------------------------------------------------------------------------


def _frame(store: AnyAuditStore, table: str, an8s: Sequence[int], order: str) -> pd.DataFrame:
    """Every row of `table` of these AN8s, oldest first."""
    marks = ", ".join("?" for _ in an8s)
    return store.query(
        f"SELECT {_COLUMNS[table]} FROM {table} WHERE an8 IN ({marks}) ORDER BY {order}", list(an8s)
    )


_COLUMNS = {
    "sync_outcomes": "run_id, partition_key, an8, target, target_key, outcome, reason, payload_hash, "
    "CAST(payload AS VARCHAR) AS payload, decided_at, resolved_by",
    "mapped_values": "run_id, an8, target, field, source_value, mapped_value, mapped_at",
    "mapping_events": "run_id, partition_key, an8, target, event, detail, noted_at",
    "synced_departures": "target, an8, reason, action, target_key, run_id, left_at",
    "synced_rejections": "target, an8, payload_hash, title, run_id, rejected_at",
    "jde_deleted": "run_id, an8, found_at",
}


def _state(store: AnyAuditStore, an8s: Sequence[int], emails: Sequence[str]) -> pd.DataFrame:
    """The synced-state rows that hold these parties: by holder AN8, or by e-mail (a folded AN8)."""
    marks = ", ".join("?" for _ in an8s)
    sql = (
        "SELECT target, an8, target_key, email, payload_hash, tags, an8s, run_id, synced_at "
        f"FROM synced_state WHERE an8 IN ({marks})"
    )
    if emails:
        sql += f" OR lower(email) IN ({', '.join('?' for _ in emails)})"
    frame = store.query(sql, [*an8s, *emails])
    wanted = set(an8s)
    held = [
        bool(wanted & {int(a) for a in _list(g)} or a in wanted)
        for a, g in zip(frame["an8"], frame["an8s"], strict=True)
    ]
    return frame.loc[held] if len(frame) else frame


def _writes(
    store: AnyAuditStore, an8s: Sequence[int], keys: Sequence[str], runs: Sequence[str]
) -> pd.DataFrame:
    """The HTTP attempts of these runs that carried one of the AN8s, or addressed one of the record keys."""
    columns = (
        "run_id, target, target_key, record_key, method, path, "
        "CAST(request_body AS VARCHAR) AS request_body, status, "
        "CAST(response_body AS VARCHAR) AS response_body, attempt, written_at"
    )
    if not runs:
        return store.query(f"SELECT {columns} FROM mailchimp_writes WHERE 1 = 0")
    carried = " OR ".join("strpos(',' || coalesce(record_key, '') || ',', ?) > 0" for _ in an8s)
    addressed = f" OR target_key IN ({', '.join('?' for _ in keys)})" if keys else ""
    return store.query(
        f"SELECT {columns} FROM mailchimp_writes WHERE run_id IN ({', '.join('?' for _ in runs)}) "
        f"AND ({carried}{addressed}) ORDER BY written_at",
        [*runs, *(f",{a}," for a in an8s), *keys],
    )


RUN_KEYS = ("run_id", "job", "partition_start", "partition_end", "status", "started_at", "finished_at",
            "parent_run_id")  # fmt: skip


def _runs(store: AnyAuditStore, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """run id → what `sync_runs` says of it (job, partition range, status, times, parent run); a run
    without a row there (outcomes recorded by hand) has status `unknown`."""
    if not run_ids:
        return {}
    frame = store.query(
        f"SELECT {', '.join(RUN_KEYS)} FROM sync_runs WHERE run_id IN ({', '.join('?' for _ in run_ids)})",
        list(run_ids),
    )
    found = {row["run_id"]: _stamped(row, "started_at", "finished_at") for row in _records(frame)}
    unknown = dict.fromkeys(RUN_KEYS) | {"status": "unknown"}
    return {run_id: found.get(run_id, unknown | {"run_id": run_id}) for run_id in run_ids}


# -- one target ------------------------------------------------------------------------------------------


def _target(
    target: str,
    outcomes: pd.DataFrame,
    mapped: pd.DataFrame,
    events: pd.DataFrame,
    state: pd.DataFrame,
    departures: pd.DataFrame,
    rejections: pd.DataFrame,
    writes: pd.DataFrame,
    runs: dict[str, dict[str, Any]],
    emails: Sequence[str],
) -> dict[str, Any]:
    rows = [_outcome(row, runs) for row in _records(outcomes)]
    attempts = [_write(row, emails) for row in _records(writes)]
    synced = [r for r in rows if r["outcome"] in SUCCESSFUL]
    held = [_held(row) for row in _records(state)]
    keys = [r["target_key"] for r in rows if r["target_key"]]
    return {
        "target": target,
        "target_key": held[-1]["target_key"] if held else (keys[-1] if keys else None),
        "synced_state": held[-1] if held else None,
        "last_checked": rows[-1] if rows else None,
        "last_synced": _with_exchange(synced[-1], attempts) if synced else None,
        "outcomes": rows,
        "writes": attempts,
        "events": [_stamped(row, "noted_at") for row in _records(events)],
        "field_changes": _field_changes(mapped),
        "renames": [
            {"at": r["at"], "run_id": r["run_id"], "to_email": r["email"], "reason": r["reason"]}
            for r in rows
            if r["outcome"] == RENAMED
        ],
        "departures": [_stamped(row, "left_at") for row in _records(departures)],
        "refusals": [r for r in rows if r["outcome"].startswith(REJECTED_PREFIX)],
        "refusal_held": _stamped(_records(rejections)[-1], "rejected_at") if len(rejections) else None,
        "replays": _replays(rows),
    }


def _replays(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The replays that resolved failures of this record (only a replay sets `resolved_by`), with what each
    decided: its own outcome, or `superseded` when it found a later run had already decided the record
    and sent nothing (sync/replay.py). A replay that failed again resolved nothing: its `failed` outcome
    is in the timeline."""
    replayed: dict[str, list[str]] = {}
    for row in rows:
        if row["resolved_by"]:
            replayed.setdefault(row["resolved_by"], []).append(row["run_id"])
    decided = {row["run_id"]: row for row in rows}
    return [
        {
            "run_id": run_id,
            "at": decided[run_id]["at"] if run_id in decided else None,
            "outcome": decided[run_id]["outcome"] if run_id in decided else SUPERSEDED,
            "reason": decided[run_id]["reason"] if run_id in decided else "a later run had decided it",
            "replayed_run_ids": sorted(set(failed)),
        }
        for run_id, failed in replayed.items()
    ]


def _outcome(row: dict[str, Any], runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    payload = _json(row["payload"])
    run = runs.get(row["run_id"], {})
    return {
        "at": _when(row["decided_at"]),
        "run_id": row["run_id"],
        "job": run.get("job"),
        "partition_key": row["partition_key"],
        "an8": row["an8"],
        "target_key": row["target_key"],
        "outcome": row["outcome"],
        "reason": row["reason"] or "",
        "email": payload.get("email_address") if isinstance(payload, dict) else None,
        "payload_hash": row["payload_hash"],
        "payload": payload,
        "resolved_by": row["resolved_by"],
    }


def _write(row: dict[str, Any], emails: Sequence[str]) -> dict[str, Any]:
    carried = [k for k in str(row["record_key"] or "").split(",") if k]
    return {
        "at": _when(row["written_at"]),
        "run_id": row["run_id"],
        "method": row["method"],
        "path": str(row["path"]).split("?", 1)[0],
        "records_in_call": len(carried),
        "target_key": row["target_key"],
        "attempt": int(row["attempt"]),
        "status": None if row["status"] is None else int(row["status"]),
        "request_body": trimmed(_json(row["request_body"]), emails),
        "response_body": trimmed(_json(row["response_body"]), emails),
    }


def _with_exchange(synced: dict[str, Any], attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """The last successful outcome with the HTTP exchange that made it: its run's last 2xx attempt that
    sent this record's e-mail (a rename's PATCH, a customer's PUT, a batch carrying it), else the last
    2xx attempt of the run for the target (a departure's tag call)."""
    made = [
        w for w in attempts if w["run_id"] == synced["run_id"] and w["status"] and 200 <= w["status"] < 300
    ]
    sent = [w for w in made if _carries(w["request_body"], synced["email"])]
    return {**synced, "request": (sent or made or [None])[-1]}


def _carries(body: Any, email: str | None) -> bool:
    if not isinstance(body, dict) or not email:
        return False
    entries = [body, *(body.get("members") or [])]
    return any(str(_email_of(e)).lower() == email.lower() for e in entries)


def _held(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **_stamped(row, "synced_at"),
        "tags": [str(t) for t in _list(row["tags"])],
        "an8s": [int(a) for a in _list(row["an8s"])],
    }


def _field_changes(mapped: pd.DataFrame) -> list[dict[str, Any]]:
    """Each mapped field of a party whose value differs from its run before (the first is no change)."""
    changes: list[dict[str, Any]] = []
    last: dict[tuple[int, str], Any] = {}
    for row in _records(mapped.sort_values("mapped_at", kind="stable")):
        key, value = (row["an8"], row["field"]), row["mapped_value"]
        if key in last and last[key] != value:
            changes.append(
                {
                    "at": _when(row["mapped_at"]),
                    "run_id": row["run_id"],
                    "an8": row["an8"],
                    "field": row["field"],
                    "from": last[key],
                    "to": value,
                }
            )
        last[key] = value
    return changes


# -- values ----------------------------------------------------------------------------------------------


def trimmed(body: Any, emails: Iterable[str]) -> Any:
    """`body` without what says nothing of this record: Mailchimp's `_links`, the other contacts of a
    batch call (entries whose `email_address` is not one of `emails`, counted instead), text past
    `BODY_LIMIT`."""
    wanted = {e.lower() for e in emails}
    if isinstance(body, dict):
        kept: dict[str, Any] = {}
        for key, value in body.items():
            if key == "_links":
                continue
            if key in BATCH_KEYS and isinstance(value, list):
                mine = [v for v in value if str(_email_of(v)).lower() in wanted]
                kept[key] = [trimmed(v, wanted) for v in mine]
                if len(value) > len(mine):
                    kept[f"{key}_others"] = len(value) - len(mine)
            else:
                kept[key] = trimmed(value, wanted)
        return kept
    if isinstance(body, list):
        return [trimmed(v, wanted) for v in body]
    if isinstance(body, str) and len(body) > BODY_LIMIT:
        return body[:BODY_LIMIT] + "…"
    return body


def _email_of(entry: Any) -> Any:
    return entry.get("email_address") if isinstance(entry, dict) else None


def _only(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    return frame.loc[frame["target"] == target] if "target" in frame and len(frame) else frame.iloc[0:0]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values (numpy integers and NaN/NaT made int and None)."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, pd.Timestamp):
        return value.tolist()
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value.tolist() if hasattr(value, "tolist") else value)


def _stamped(row: dict[str, Any], *stamps: str) -> dict[str, Any]:
    return {k: _when(v) if k in stamps else v for k, v in row.items()}


def _when(value: Any) -> str | None:
    """A time as ISO 8601 text in UTC (both backends return aware times)."""
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat(timespec="milliseconds")


def _json(text: Any) -> Any:
    if text is None or not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _named(asked: str) -> str:
    return f"AN8 {asked}" if asked.isdigit() else f"the e-mail {asked}"


# -- what Mailchimp holds now ----------------------------------------------------------------------------

COMPARED = {
    LIST_MEMBER: ("email_address", "merge_fields"),
    ECOMMERCE_CUSTOMER: ("email_address", "company", "first_name", "last_name", "address", "opt_in_status"),
}
"""The parts of a payload the connector owns, compared with Mailchimp's record (the rest of a payload is
the connector's own bookkeeping: AN8s, previous e-mail, retired ids)."""


def add_live(history: dict[str, Any], client: MailchimpClient, list_id: str, store_id: str) -> None:
    """Put under each target's `live` what Mailchimp holds now beside what we last sent: one GET per
    target (the member by its subscriber hash, the customer by its id), nothing written."""
    for target, story in history["targets"].items():
        key = story["target_key"]
        if not key:
            story["live"] = {"found": False, "path": None, "status": None, "fields": []}
            continue
        path = (
            f"/lists/{list_id}/members/{key}"
            if target == LIST_MEMBER
            else f"/ecommerce/stores/{quote(store_id, safe='')}/customers/{key}"
        )
        answer = client.call("GET", path)
        if not answer.ok and answer.status != 404:
            raise MailchimpApiError(f"reading {path}", answer.status, answer.title, answer.detail)
        held = answer.body if answer.ok and isinstance(answer.body, dict) else None
        story["live"] = {
            "found": held is not None,
            "path": path,
            "status": answer.status,
            "fields": compare(target, story, held),
        }


def compare(target: str, story: dict[str, Any], held: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Field by field, what we last sent (`ours`) and what Mailchimp holds (`theirs`), `differs` marked.

    Ours is the last successful payload, with what happened since: a departure applied after it
    (`untag`: no owned tag left; `archive`: the contact archived, the customer gone). A member's
    `status` is never sent: ours is the one Mailchimp answered with at that write, when it said."""
    synced = story["last_synced"]
    payload = synced["payload"] if synced and isinstance(synced["payload"], dict) else {}
    ours = _flat({k: payload[k] for k in COMPARED[target] if k in payload})
    left = [d for d in story["departures"] if not synced or (d["left_at"] or "") > synced["at"]]
    action = left[-1]["action"] if left else None
    theirs = _flat(held or {})
    rows = [(field, value, theirs.get(field)) for field, value in ours.items()]
    if target == LIST_MEMBER:
        active = [] if action == "untag" else list(payload.get("tags_active") or [])
        owned = {*(payload.get("tags_active") or []), *(payload.get("tags_inactive") or [])}
        names = sorted(str(t.get("name")) for t in _get(held, "tags") or [] if isinstance(t, dict))
        rows.append(("tags (owned)", sorted(active), [n for n in names if n in owned]))
        rows.append(
            ("status", "archived" if action == "archive" else _answered_status(synced), _get(held, "status"))
        )
    elif action == "archive":
        rows = [("present", False, held is not None)]
    return [
        {"field": f, "ours": o, "theirs": t, "differs": o is not None and _norm(o) != _norm(t)}
        for f, o, t in rows
    ]


def _answered_status(synced: dict[str, Any] | None) -> str | None:
    request = synced.get("request") if synced else None
    body = request.get("response_body") if request else None
    return body["status"] if isinstance(body, dict) and isinstance(body.get("status"), str) else None


def _get(held: dict[str, Any] | None, key: str) -> Any:
    return held.get(key) if held else None


def _flat(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` as `{"a.b": 1}`: the fields compared one by one."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            out.update(_flat(item, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = item
    return out


def _norm(value: Any) -> Any:
    """Blank and missing alike (Mailchimp answers "" for a field never set), e-mails in lower case."""
    if value is None or value == "":
        return ""
    return value.lower() if isinstance(value, str) and "@" in value else value

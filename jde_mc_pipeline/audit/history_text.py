"""A record's history (audit/history.py) as text: what `jde-mc history` prints and the report of the
Dagster job `record_history` shows, so that a terminal and the UI read alike.

Per target: a summary (last checked, last synced with what was sent and answered, the record held now,
refusals, departures, renames, replays), then a timeline of every outcome, HTTP attempt, mapping event
and field change, oldest first, and with `live` a table of our values beside Mailchimp's. Bodies are cut
to `SHOWN` characters on one line (the JSON keeps them).
"""

from __future__ import annotations

import json
from typing import Any

SHOWN = 300
"""Characters of a request or answer body shown on one line of the text (`--json` has them whole)."""


def render(history: dict[str, Any]) -> str:
    """The history as text: a header, then per target its summary and its timeline."""
    asked = history["asked"]
    an8s = ", ".join(str(a) for a in history["an8s"])
    lines = [
        f"history of {asked} (AN8 {an8s}) from the audit {history['audit']}",
        "e-mails over time: "
        + (", ".join(_email(e) for e in history["emails"] if e["first_run_id"]) or "none mapped"),
    ]
    for found in history["deleted_in_jde"]:
        lines.append(f"found deleted in JDE: AN8 {found['an8']} by run {found['run_id']} at {_at(found)}")
    for target, story in history["targets"].items():
        lines += ["", *_target(target, story, history["runs"], several=len(history["an8s"]) > 1)]
    return "\n".join(lines)


def _target(
    target: str, story: dict[str, Any], runs: dict[str, dict[str, Any]], *, several: bool
) -> list[str]:
    lines = [f"== {target} {story['target_key'] or '(no Mailchimp key)'} =="]
    if not story["outcomes"]:
        return [*lines, "never decided by a run"]
    checked, synced = story["last_checked"], story["last_synced"]
    lines.append(f"last checked: {_at(checked)} by {_run(checked['run_id'], runs)}: {_outcome(checked)}")
    if synced:
        lines.append(f"last synced:  {_at(synced)} by {_run(synced['run_id'], runs)}: {_outcome(synced)}")
        request = synced["request"]
        if request:
            lines.append(
                f"  sent:     {request['method']} {request['path']} {_body(request['request_body'])}"
            )
            lines.append(f"  answered: {request['status']} {_body(request['response_body'])}")
        else:
            lines.append(f"  sent:     {_body(synced['payload'])} (the HTTP attempt is not in the audit)")
    else:
        lines.append("last synced:  never (no write of it succeeded)")
    held = story["synced_state"]
    lines.append(
        f"held now:     {held['email']}, tags {held['tags']}, since run {held['run_id']} "
        f"at {_at(held, 'synced_at')}"
        if held
        else "held now:     no record (nothing synced, or it left scope)"
    )
    for refused in story["refusals"]:
        lines.append(f"refused:      in run {refused['run_id']} at {_at(refused)}: {_outcome(refused)}")
    refusal = story["refusal_held"]
    if refusal:
        lines.append(
            f"refusal held: {refusal['title']} in run {refusal['run_id']} at {_at(refusal, 'rejected_at')}: "
            "not re-sent until its JDE data changes"
        )
    for left in story["departures"]:
        lines.append(
            f"left scope:   {left['reason']} in run {left['run_id']} at {_at(left, 'left_at')}, "
            f"action {left['action']}"
        )
    for rename in story["renames"]:
        lines.append(f"renamed:      to {rename['to_email']} in run {rename['run_id']} ({rename['reason']})")
    for replay in story["replays"]:
        fixed = ", ".join(replay["replayed_run_ids"]) or "nothing"
        lines.append(
            f"replayed:     by run {replay['run_id']}: {replay['outcome']} (resolved the failure of {fixed})"
        )
    lines += ["timeline:", *_timeline(story, runs, several)]
    if "live" in story:
        lines += _live(story["live"])
    return lines


def _timeline(story: dict[str, Any], runs: dict[str, dict[str, Any]], several: bool) -> list[str]:
    """Outcomes, HTTP attempts, events and field changes of the target, oldest first (each outcome with
    its AN8 when the e-mail asked for belonged to several parties)."""
    entries: list[tuple[str, int, str]] = []
    for row in story["outcomes"]:
        resolved = f" (resolved by {row['resolved_by']})" if row["resolved_by"] else ""
        job = runs.get(row["run_id"], {}).get("job") or "?"
        whose = f"AN8 {row['an8']} " if several else ""
        entries.append((row["at"], 0, f"{row['run_id']} [{job}] {whose}{_outcome(row)}{resolved}"))
    for write in story["writes"]:
        many = f" ({write['records_in_call']} records)" if write["records_in_call"] > 1 else ""
        status = write["status"] if write["status"] is not None else "no answer"
        entries.append(
            (write["at"], 1, f"{write['run_id']}   {write['method']} {write['path']}{many} -> {status}, "
             f"attempt {write['attempt']}")
        )  # fmt: skip
    for event in story["events"]:
        entries.append(
            (event["noted_at"], 2, f"{event['run_id']}   event {event['event']}: {event['detail']}")
        )
    for change in story["field_changes"]:
        entries.append(
            (
                change["at"],
                3,
                f"{change['run_id']}   {change['field']}: {change['from']!r} -> {change['to']!r}",
            )
        )
    return [f"  {_short(at)}  {text}" for at, _, text in sorted(entries, key=lambda e: (e[0] or "", e[1]))]


def _live(live: dict[str, Any]) -> list[str]:
    if not live["path"]:
        return ["live: nothing to read (no Mailchimp key known)"]
    head = f"live: GET {live['path']} -> {live['status']}" + ("" if live["found"] else " (not in Mailchimp)")
    rows = [("field", "we last sent", "Mailchimp now")]
    rows += [(f["field"], _value(f["ours"]), _value(f["theirs"])) for f in live["fields"]]
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    marks = ["", *("  <- differs" if f["differs"] else "" for f in live["fields"])]
    return [
        head,
        *(f"  {r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]}{m}" for r, m in zip(rows, marks, strict=True)),
    ]


def _run(run_id: str, runs: dict[str, dict[str, Any]]) -> str:
    """`run R (job, partitions A..B, status, parent P)`: which run, over which days, how it ended."""
    run = runs.get(run_id, {})
    start, end = run.get("partition_start"), run.get("partition_end")
    days = f"partitions {start}..{end}" if start else "no partition"
    parent = f", re-execution of {run['parent_run_id']}" if run.get("parent_run_id") else ""
    return f"run {run_id} ({run.get('job') or 'job unknown'}, {days}, {run.get('status')}{parent})"


def _outcome(row: dict[str, Any]) -> str:
    return f"{row['outcome']}" + (f" - {row['reason']}" if row["reason"] else "")


def _email(entry: dict[str, Any]) -> str:
    runs = entry["first_run_id"] + (
        f"..{entry['last_run_id']}" if entry["last_run_id"] != entry["first_run_id"] else ""
    )
    return f"{entry['email']} (AN8 {entry['an8']}, runs {runs})"


def _body(body: Any) -> str:
    if body is None:
        return "(no body)"
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"


def _value(value: Any) -> str:
    return (
        "-" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    )


def _at(row: dict[str, Any], key: str = "at") -> str:
    return _short(row.get(key) or row.get("found_at"))


def _short(stamp: str | None) -> str:
    """`2026-06-15T12:00:02.213+00:00` as `2026-06-15 12:00:02.213Z`."""
    return (stamp or "?").replace("T", " ").replace("+00:00", "Z")

"""The drift report: what Mailchimp holds now against what the sync last sent and what Mailchimp answered
then (docs/operations.md, Drift report).

Kinds of finding (`drift_findings.kind`):
- `unsubscribed`, `cleaned`, `pending`, `archived`: the member's status now (`theirs`) differs from its
  status when we last wrote it (`ours`): the status Mailchimp answered (batch subscribe's trimmed answer
  carries it, mailchimp/members.py), or, for a write recorded before it did, the `status_if_new` sent for
  a member it created. A contact already
  unsubscribed when we wrote is therefore not news.
- `deleted`: a member we wrote is no longer in the audience at all (permanently deleted).
- `merge_field_changed`: an owned merge field (one our payload carried; `field` is its tag) holds another
  value than we sent.
- `tag_removed` / `tag_readded`: an owned tag we set active is gone, or one we set inactive is back.
- `customer_missing`: an e-commerce customer we wrote is not in the store.

Each finding is recorded once, when first seen: a finding equal to an open one (same party, target,
kind, field and value found) recorded after the record's last write is not recorded again. A later write
of the record makes a new observation of the same drift news again (the sync overwrote it, and a marketer
did it again).

How little is read: the first run reads every member (archived ones too); later runs read only the
members changed since the last run's watermark (`since_last_changed`), which is the moment that run
started reading minus `clock_skew` (Mailchimp's clock against ours: overlap is harmless, findings are
recorded once). Deletions never show in such a read, so they are found by counting: the audience's total
now, against the total the last run saw plus the changed members that may be new (not written by us
before that run), bounds the deletions; only when the bound is above zero are the member ids read (id-only
pages). Members we wrote after the watermark must be in the changed read; those missing are asked for one
by one. Customers: the store's total against the last run's and our written customers' growth; only a
difference reads the customer ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline.audit.drift import (
    CUSTOMER_MISSING,
    DELETED,
    FINDING_COLUMNS,
    KINDS,
    MERGE_FIELD_CHANGED,
    STATUS_KINDS,
    TAG_READDED,
    TAG_REMOVED,
    DriftMark,
    empty_findings,
    open_findings,
)
from jde_mc_pipeline.mailchimp import drift_reads
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline.mapping.outcomes import SUCCESSFUL
from jde_mc_pipeline.sync.settings import SyncSettings

AUDIENCE_TOTAL, STORE_TOTAL, OURS_CUSTOMERS = "audience_members", "store_customers", "ours_customers"
IN_CHUNK = 1000
WHOLE_READ = 10 * IN_CHUNK
"""More records than this: their payloads are read in one join rather than in lists of IN_CHUNK."""


@dataclass
class DriftReport:
    """One drift run: the new findings, the watermark for the next run and what was read."""

    findings: pd.DataFrame
    mark: DriftMark
    members_read: int = 0
    scans: list[str] = field(default_factory=list)
    """Which full reads the run made: `members` (first run), `member_ids`, `customer_ids`."""

    def counts(self) -> dict[str, int]:
        """Findings per kind, every kind named (zero included), for metadata and `sync_runs.counts`."""
        found = self.findings["kind"].value_counts().to_dict() if not self.findings.empty else {}
        return {kind: int(found.get(kind, 0)) for kind in KINDS}


def find_drift(
    client: MailchimpClient,
    store: AnyAuditStore,
    settings: SyncSettings,
    previous: DriftMark,
    watermark: datetime,
) -> DriftReport:
    """Read Mailchimp back and compare (module doc); records nothing (the caller keeps the findings).
    `watermark`: where the next run reads from (this run's start, less the clock skew)."""
    since = previous.watermark
    members = drift_reads.read_members(client, settings.list_id, since)
    ours = _our_members(store)
    seen = {str(m.get("id")) for m in members}
    scans = [] if since is not None else ["members"]
    findings = [_member_findings(store, settings, members, ours)]

    total = drift_reads.audience_total(client, settings.list_id)
    gone: set[str] = set() if since is None else _missing_recent(client, settings, ours, seen, since)
    if since is None:
        gone = set(ours["target_key"]) - seen
    elif _deletions_possible(previous, total, ours, seen, since):
        scans.append("member_ids")
        ids = {
            str(m.get("id")) for m in drift_reads.read_members(client, settings.list_id, None, ids_only=True)
        }
        gone |= set(ours["target_key"]) - ids
    findings.append(_deleted(ours, gone))

    customers = _our_customers(store)
    store_total = drift_reads.store_customer_total(client, settings.store_id)
    if _customers_to_check(previous, store_total, len(customers)):
        scans.append("customer_ids")
        held = drift_reads.store_customer_ids(client, settings.store_id)
        missing = customers.loc[~customers["target_key"].isin(held)]
        findings.append(
            pd.DataFrame(
                {
                    "an8": missing["an8"].astype("int64"),
                    "target": ECOMMERCE_CUSTOMER,
                    "kind": CUSTOMER_MISSING,
                    "field": None,
                    "ours": missing["email"],
                    "theirs": None,
                    "target_key": missing["target_key"],
                }
            )
        )
    state = pd.concat([ours, customers], ignore_index=True)
    new = _first_seen(pd.concat([f for f in findings if not f.empty] or [empty_findings()]), store, state)
    mark = DriftMark(
        watermark,
        {AUDIENCE_TOTAL: total, STORE_TOTAL: store_total, OURS_CUSTOMERS: len(customers)},
    )
    return DriftReport(new, mark, members_read=len(members), scans=scans)


# -- what we wrote ----------------------------------------------------------------------------------


def _our_members(store: AnyAuditStore) -> pd.DataFrame:
    """The members the synced state says we hold: an8, target_key, email, tags, run_id, synced_at."""
    frame = store.query(
        "SELECT an8, target_key, email, tags, run_id, synced_at FROM synced_state WHERE target = ? "
        "ORDER BY an8",
        [LIST_MEMBER],
    )
    return _stamped(frame)


def _our_customers(store: AnyAuditStore) -> pd.DataFrame:
    frame = store.query(
        "SELECT an8, target_key, email, run_id, synced_at FROM synced_state WHERE target = ? ORDER BY an8",
        [ECOMMERCE_CUSTOMER],
    )
    return _stamped(frame)


def _stamped(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        columns = ["an8", "target_key", "email", "tags", "run_id", "synced_at"]
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame["an8"] = frame["an8"].astype("int64")
    frame["synced_at"] = pd.to_datetime(frame["synced_at"], utc=True)
    return frame


def _sent_payloads(store: AnyAuditStore, ours: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """holder AN8 → the payload of the record's last successful write (the outcome row of its run)."""
    found: dict[int, dict[str, Any]] = {}
    outcomes = ", ".join(f"'{o}'" for o in SUCCESSFUL)
    if len(ours) > WHOLE_READ:  # a first run: one join over the whole state beats a hundred IN lists
        wanted = set(ours["an8"].astype(int))
        frame = store.query(
            f"SELECT o.an8, CAST(o.payload AS VARCHAR) AS payload FROM sync_outcomes o "
            f"JOIN synced_state s ON s.target = o.target AND s.an8 = o.an8 AND s.run_id = o.run_id "
            f"WHERE o.target = ? AND o.outcome IN ({outcomes}) AND o.payload IS NOT NULL "
            "ORDER BY o.decided_at",
            [LIST_MEMBER],
        )
        for an8, payload in frame.itertuples(index=False):
            if int(an8) in wanted:
                found[int(an8)] = json.loads(payload)
        return found
    for start in range(0, len(ours), IN_CHUNK):
        part = ours.iloc[start : start + IN_CHUNK]
        marks = ", ".join("?" for _ in range(len(part)))
        frame = store.query(
            f"SELECT an8, run_id, CAST(payload AS VARCHAR) AS payload FROM sync_outcomes "
            f"WHERE target = ? AND outcome IN ({outcomes}) AND payload IS NOT NULL AND an8 IN ({marks}) "
            f"ORDER BY decided_at",
            [LIST_MEMBER, *part["an8"].astype(int).tolist()],
        )
        runs = dict(zip(part["an8"].astype(int), part["run_id"], strict=True))
        for an8, run_id, payload in frame.itertuples(index=False):
            if runs.get(int(an8)) == run_id:
                found[int(an8)] = json.loads(payload)
    return found


def _statuses_at_write(store: AnyAuditStore, list_id: str, ours: pd.DataFrame) -> dict[str, str]:
    """lower-cased e-mail → the status Mailchimp answered (or the `status_if_new` of a member it created)
    in the runs that last wrote these records."""
    runs = sorted({r for r in ours["run_id"] if isinstance(r, str)})
    wanted = {str(e).strip().lower() for e in ours["email"]}
    found: dict[str, str] = {}
    if not runs:
        return found
    marks = ", ".join("?" for _ in runs)
    frame = store.query(
        "SELECT CAST(request_body AS VARCHAR) AS request, CAST(response_body AS VARCHAR) AS response "
        f"FROM mailchimp_writes WHERE target = ? AND status = 200 AND run_id IN ({marks}) "
        "AND method IN ('POST', 'PATCH') AND path NOT LIKE '%/tags%' AND path LIKE ? ORDER BY written_at",
        [LIST_MEMBER, *runs, f"/lists/{list_id}%"],
    )
    for request, response in frame.itertuples(index=False):
        sent, answer = _json(request), _json(response)
        asked = {
            str(m.get("email_address", "")).strip().lower(): m.get("status_if_new")
            for m in sent.get("members") or []
            if isinstance(m, dict)
        }
        entries = [(e, "new") for e in answer.get("new_members") or []]
        entries += [(e, "updated") for e in answer.get("updated_members") or []]
        if answer.get("email_address"):  # a rename's PATCH answers with the member itself
            entries.append((answer, "updated"))
        for entry, how in entries:
            email = str(entry.get("email_address", "")).strip().lower()
            if email not in wanted:
                continue
            status = entry.get("status") or (asked.get(email) if how == "new" else None)
            if status:
                found[email] = str(status)
    return found


# -- comparisons ------------------------------------------------------------------------------------


def _member_findings(
    store: AnyAuditStore, settings: SyncSettings, members: list[dict[str, Any]], ours: pd.DataFrame
) -> pd.DataFrame:
    by_key = ours.set_index("target_key", drop=False)
    read = [m for m in members if str(m.get("id")) in by_key.index]
    if not read:
        return empty_findings()
    records = by_key.loc[[str(m["id"]) for m in read]]
    payloads = _sent_payloads(store, records)
    news = [m for m in read if m.get("status") in STATUS_KINDS]
    at_write = (
        _statuses_at_write(store, settings.list_id, by_key.loc[[str(m["id"]) for m in news]]) if news else {}
    )
    owns = getattr(settings.mapping, "owns_tag", None)
    rows: list[tuple[Any, ...]] = []
    for member in read:
        record = by_key.loc[str(member["id"])]
        an8, key = int(record["an8"]), str(record["target_key"])
        status = str(member.get("status") or "")
        if status in STATUS_KINDS:
            then = at_write.get(str(record["email"]).strip().lower(), "subscribed")
            if then != status:
                rows.append((an8, LIST_MEMBER, status, "status", then, status, key))
        payload = payloads.get(an8) or {}
        theirs_fields = member.get("merge_fields") or {}
        for tag, ours_value in (payload.get("merge_fields") or {}).items():
            theirs_value = theirs_fields.get(tag, "")
            if not _same(ours_value, theirs_value):
                rows.append((an8, LIST_MEMBER, MERGE_FIELD_CHANGED, tag, _shown(ours_value),
                             _shown(theirs_value), key))  # fmt: skip
        names = {str(t.get("name")) for t in member.get("tags") or [] if isinstance(t, dict)}
        complete = int(member.get("tags_count") or len(names)) <= len(names)
        active = [str(t) for t in _listed(record.get("tags"))]
        inactive = [str(t) for t in payload.get("tags_inactive") or ()]
        for tag in active:
            if (owns is None or owns(tag)) and tag not in names and complete:
                rows.append((an8, LIST_MEMBER, TAG_REMOVED, tag, "active", "absent", key))
        for tag in inactive:
            if (owns is None or owns(tag)) and tag in names and tag not in active:
                rows.append((an8, LIST_MEMBER, TAG_READDED, tag, "inactive", "active", key))
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS)) if rows else empty_findings()


def _deleted(ours: pd.DataFrame, gone: set[str]) -> pd.DataFrame:
    lost = ours.loc[ours["target_key"].isin(gone)]
    return pd.DataFrame(
        {
            "an8": lost["an8"].astype("int64"),
            "target": LIST_MEMBER,
            "kind": DELETED,
            "field": None,
            "ours": lost["email"],
            "theirs": None,
            "target_key": lost["target_key"],
        }
    )


def _missing_recent(
    client: MailchimpClient, settings: SyncSettings, ours: pd.DataFrame, seen: set[str], since: datetime
) -> set[str]:
    """Members we wrote at or after `since` that the changed read did not return: each asked for (a
    write changes `last_changed`, so only a deleted member can be missing); the 404s."""
    recent = ours.loc[(ours["synced_at"] >= pd.Timestamp(since)) & ~ours["target_key"].isin(seen)]
    gone = set()
    for key in recent["target_key"]:
        answer = client.call("GET", f"/lists/{settings.list_id}/members/{key}", params={"fields": "id"})
        if answer.status == 404:
            gone.add(str(key))
    return gone


def _deletions_possible(
    previous: DriftMark, total: int, ours: pd.DataFrame, seen: set[str], since: datetime
) -> bool:
    """Whether the audience may have lost members since the last run: its total now is below the last
    total plus the changed members that may be new (every one not written by us before `since`)."""
    before = previous.counts.get(AUDIENCE_TOTAL)
    if before is None:
        return True
    old = set(ours.loc[ours["synced_at"] < pd.Timestamp(since), "target_key"])
    may_be_new = len(seen - old)
    return before + may_be_new - total > 0


def _customers_to_check(previous: DriftMark, store_total: int, ours_now: int) -> bool:
    """Whether the store's customers must be listed: always on a first run; later when the store did not
    grow as our written customers did (a customer gone, or one we do not know of)."""
    before, ours_before = previous.counts.get(STORE_TOTAL), previous.counts.get(OURS_CUSTOMERS)
    if before is None or ours_before is None:
        return True
    return store_total - before != ours_now - ours_before or store_total < ours_now


def _first_seen(findings: pd.DataFrame, store: AnyAuditStore, state: pd.DataFrame) -> pd.DataFrame:
    """The findings not already open since the record's last write (module doc: recorded once)."""
    if findings.empty:
        return empty_findings()
    findings = findings.reset_index(drop=True)
    known = open_findings(store)
    if known.empty:
        return findings
    written = state.drop_duplicates(["an8", "target_key"]).set_index(["an8", "target_key"])["synced_at"]
    key = ["an8", "target", "kind", "field", "theirs"]
    known = known.loc[:, [*key, "target_key", "found_at"]].fillna({"field": "", "theirs": ""})
    since_write = [
        found >= written.get((an8, tk), pd.Timestamp.min.tz_localize(UTC))
        for an8, tk, found in known.loc[:, ["an8", "target_key", "found_at"]].itertuples(index=False)
    ]
    known = known.loc[np.asarray(since_write, dtype=bool)]
    marks = set(map(tuple, known.loc[:, key].astype({"an8": "int64"}).astype(str).to_numpy()))
    probe = findings.loc[:, key].fillna({"field": "", "theirs": ""}).astype(str).to_numpy()
    return findings.loc[[tuple(row) not in marks for row in probe]].reset_index(drop=True)


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, dict):
        theirs = theirs if isinstance(theirs, dict) else {}
        return all(_plain(v) == _plain(theirs.get(k, "")) for k, v in ours.items())
    return _plain(ours) == _plain(theirs)


def _plain(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else _plain(value)


def _listed(value: Any) -> list[Any]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return list(value)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

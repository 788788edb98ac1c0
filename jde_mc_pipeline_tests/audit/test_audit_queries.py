"""docs/audit.md's questions, every statement of its `sql` block, answer alike on a DuckDB store and on a
PostgreSQL store filled with a run's realistic rows (the demo test runs them on the demo's file too)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from jde_mc_pipeline.audit.backends import AnyAuditStore
from jde_mc_pipeline_tests.automation.readme import audit_queries

RUN = "9c1f-run"
JANE = "jane@example.com"


def _fill(store: AnyAuditStore) -> None:
    """One run: AN8 1001 (Jane) created, 1002 failed, 1003 refused for good, 1004 quarantined; the HTTP
    writes it made, one refused with a detail and one without an answer."""
    store.start_run(RUN, "jde_to_mailchimp_sync", "2026-11-01", "2026-11-01")
    f0101 = pd.DataFrame({"AN8": [1001, 1002], "ALPH": ["Jane Doe", 'Acme "Ltd"'], "AT1": ["C", "C"]})
    f0111 = pd.DataFrame({"AN8": [1001], "IDLN": [0], "GNNM": ["Jane"]})
    store.record_pulls(RUN, {"F0101": f0101, "F0111": f0111})
    member = {"email_address": JANE, "status_if_new": "subscribed", "merge_fields": {"FNAME": "Jane"}}
    outcomes = pd.DataFrame(
        {
            "an8": [1001, 1002, 1003, 1004],
            "target": "list_member",
            "target_key": [hashlib.md5(JANE.encode()).hexdigest(), "h2", "h3", None],
            "outcome": ["created", "failed", "rejected:Invalid Resource", "quarantined:no_email"],
            "reason": [None, "HTTP 503", "looks fake", "no e-mail"],
            "payload_hash": ["p1", "p2", "p3", None],
            "payload": [member, {"email_address": "b@x.io"}, {"email_address": "c@x.io"}, None],
        }
    )
    store.record_outcomes(RUN, "2026-11-01", outcomes)
    store.record_writes(
        RUN,
        [
            {"target": "list_member", "method": "POST", "path": "/lists/l1?skip_merge_validation=true",
             "request_body": {"members": [member]}, "status": 200, "response_body": {"errors": []}},
            {"target": "list_member", "method": "PUT", "path": "/lists/l1/members/h3",
             "request_body": {"email_address": "c@x.io"}, "status": 400,
             "response_body": {"title": "Invalid Resource", "detail": "looks fake"}},
            {"target": "list_member", "method": "PUT", "path": "/lists/l1/members/h2",
             "request_body": {"email_address": "b@x.io"}, "status": None, "attempt": 3},
        ],
    )  # fmt: skip


def _answers(store: AnyAuditStore) -> list[pd.DataFrame]:
    return [store.query(statement.replace("'R'", f"'{RUN}'")) for statement in audit_queries()]


def test_every_documented_question_answers_on_both_backends(store):
    _fill(store)
    history, pulled, failed, failed_writes, jane, jane_writes = _answers(store)

    assert history[["target", "outcome"]].values.tolist() == [["list_member", "created"]]
    assert pulled["table_name"].tolist() == ["F0101", "F0111"]
    assert json.loads(pulled["row_json"].iloc[0]) == {"AN8": 1001, "ALPH": "Jane Doe", "AT1": "C"}
    assert failed[["an8", "outcome"]].values.tolist() == [
        [1002, "failed"],
        [1003, "rejected:Invalid Resource"],
        [1004, "quarantined:no_email"],
    ]
    details = failed_writes.astype(object).where(failed_writes.notna(), None)  # same time: any order
    assert sorted(zip(details["path"], details["detail"], strict=True)) == [
        ("/lists/l1/members/h2", None),
        ("/lists/l1/members/h3", "looks fake"),
    ]
    assert jane[["an8", "outcome"]].values.tolist() == [[1001, "created"]]
    assert json.loads(jane["payload"].iloc[0])["merge_fields"] == {"FNAME": "Jane"}
    assert jane_writes[["method", "path", "status"]].values.tolist() == [["POST", "/lists/l1", 200]]

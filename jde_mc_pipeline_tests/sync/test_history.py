"""`jde-mc history` over real HTTP (both emulators) and a real audit, DuckDB file or PostgreSQL database.

The story of vendor 1024 (party24@example.com), one sync after another:
r1 Mailchimp's member calls fail (503): its member `failed`, its customer waits for it; replay-1 sends both
(`created`); r2 its e-mail becomes vendor24@mailinator.com, a domain this Mailchimp finds fake: both
targets `rejected:`; r3 it becomes twentyfour@acme-industries.net: `renamed` from the old member and
customer; r4 it becomes an employee (no role): `left_scope:no_role` (the member untagged), and vendor
1023 takes its first e-mail (1023 `renamed` to party24@example.com); r5 nothing changed: `unchanged`,
nothing sent.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any
from urllib.parse import urlsplit

import pytest

from jde_mc_pipeline.audit.backends import open_store
from jde_mc_pipeline.audit.postgres.migrations import upgrade
from jde_mc_pipeline.cli import main as jde_mc
from jde_mc_pipeline.cli.history import run_history
from jde_mc_pipeline.sync.replay import replay_failures
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import control, jde_upsert, stamp, write_requests

LATER = stamp(date(2025, 11, 26), 120000)
MEMBERS_DOWN = {"fault_rate": 1.0, "kinds": ["503"], "endpoints": ["POST /lists/{list_id}"]}
FIRST, FAKE, LAST = "party24@example.com", "vendor24@mailinator.com", "twentyfour@acme-industries.net"
MEMBER_STORY = [
    "failed",
    "created",
    "rejected:Invalid Resource",
    "renamed",
    "left_scope:no_role",
    "unchanged",
]
CUSTOMER_STORY = [
    "failed",
    "created",
    "rejected:Customer Was Not Saved",
    "renamed",
    "left_scope:no_role",
    "unchanged",
]


TARGET_KEYS = {
    "target", "target_key", "synced_state", "last_checked", "last_synced", "outcomes", "writes", "events",
    "field_changes", "renames", "departures", "refusals", "refusal_held", "replays",
}  # fmt: skip
OUTCOME_KEYS = {
    "at", "run_id", "job", "partition_key", "an8", "target_key", "outcome", "reason", "email", "payload_hash",
    "payload", "resolved_by",
}  # fmt: skip
WRITE_KEYS = {
    "at", "run_id", "method", "path", "records_in_call", "target_key", "attempt", "status", "request_body",
    "response_body",
}  # fmt: skip
RUN_KEYS = {
    "run_id",
    "job",
    "partition_start",
    "partition_end",
    "status",
    "started_at",
    "finished_at",
    "parent_run_id",
}


@pytest.fixture
def mc_server(mailchimp_emulator_factory):
    """Mailchimp accepting the dataset's example.com, refusing mailinator.com as fake."""
    return mailchimp_emulator_factory(seed=7, fake_email_domains=("mailinator.com",), batch_step_seconds=0.02)


@pytest.fixture(params=["duckdb", "postgres"])
def audit_env(request, tmp_path) -> dict[str, str]:
    """The environment `jde-mc history` reads the audit from: a DuckDB file, or a PostgreSQL database."""
    if request.param == "duckdb":
        return {"JDE_MC_AUDIT_DB": str(tmp_path / "audit_trail.duckdb")}
    url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return {"JDE_MC_AUDIT_URL": url}


@pytest.fixture
def story(audit_env, sync, settings, mc_server, mc_client, jde_emulator, jde_dataset) -> dict[str, str]:
    """The module doc's five syncs and replay of AN8 1024, recorded in the audit of `audit_env`."""
    store = open_store(audit_env.get("JDE_MC_AUDIT_URL") or audit_env["JDE_MC_AUDIT_DB"])

    def email(address: str, an8: int = 1024) -> None:
        [row] = [r for r in jde_dataset["F01151"] if r["EAAN8"] == an8]
        jde_upsert(jde_emulator.url, "F01151", [{**row, "EAEMAL": address, "EAUPMJ": LATER["UPMJ"]}])

    control(mc_server, "POST", "faults", MEMBERS_DOWN)
    sync("r1", store=store)
    control(mc_server, "POST", "faults", {"fault_rate": 0.0, "endpoints": []})
    replay_failures(store, mc_client, settings, run_id="r1", replay_run_id="replay-1")
    email(FAKE)
    sync("r2", store=store)
    email(LAST)
    sync("r3", store=store)
    [row] = [r for r in jde_dataset["F0101"] if r["ABAN8"] == 1024]
    jde_upsert(jde_emulator.url, "F0101", [{**row, "ABAT1": "E", "ABUPMJ": LATER["UPMJ"]}])
    email(FIRST, an8=1023)
    sync("r4", store=store)
    sync("r5", store=store)
    return audit_env


def history(env: dict[str, str], record: str, **flags: bool) -> tuple[int, str]:
    out = io.StringIO()
    code = run_history(record, env, out=out, **flags)
    return code, out.getvalue()


def as_json(env: dict[str, str], record: str, **flags: bool) -> dict[str, Any]:
    code, text = history(env, record, as_json=True, **flags)
    assert code == 0, text
    return json.loads(text)


def test_the_history_of_a_renamed_refused_replayed_and_departed_party(story, mc_server):
    found = as_json(story, "1024")

    assert found["an8s"] == [1024]
    assert [e["email"] for e in found["emails"]] == [FIRST, FAKE, LAST]
    assert [(e["first_run_id"], e["last_run_id"]) for e in found["emails"]] == [
        ("r1", "r1"),
        ("r2", "r2"),
        ("r3", "r3"),
    ]
    member, customer = found["targets"]["list_member"], found["targets"]["ecommerce_customer"]
    assert [o["outcome"] for o in member["outcomes"]] == MEMBER_STORY
    assert [o["run_id"] for o in member["outcomes"]] == ["r1", "replay-1", "r2", "r3", "r4", "r5"]
    assert [o["outcome"] for o in customer["outcomes"]] == CUSTOMER_STORY
    assert found["runs"]["replay-1"]["job"] == "mailchimp_replay"
    assert found["runs"]["r3"]["status"] == "succeeded"

    # last checked: r5 decided `unchanged`; last synced: r3's rename, by a PATCH on the old member
    assert member["last_checked"]["run_id"] == "r5" and member["last_checked"]["outcome"] == "unchanged"
    assert "left scope in run r4" in member["last_checked"]["reason"]
    synced = member["last_synced"]
    assert (synced["run_id"], synced["outcome"], synced["email"]) == ("r3", "renamed", LAST)
    sent = synced["request"]
    member_path = f"/lists/{mc_server.list_id}/members/{subscriber_hash(FIRST)}"
    assert (sent["method"], sent["path"], sent["status"]) == ("PATCH", member_path, 200)
    assert sent["request_body"]["email_address"] == LAST
    assert sent["response_body"]["email_address"] == LAST and "_links" not in sent["response_body"]
    assert member["target_key"] == subscriber_hash(LAST)
    customer_sent = customer["last_synced"]["request"]
    assert customer_sent["method"] == "PUT" and customer_sent["path"].endswith(subscriber_hash(LAST))

    # the failure and its replay; the batch call trimmed to this record's entry
    failed = member["outcomes"][0]
    assert failed["resolved_by"] == "replay-1" and "temporarily unavailable" in failed["reason"]
    assert member["replays"] == [
        {
            "at": member["outcomes"][1]["at"],
            "run_id": "replay-1",
            "outcome": "created",
            "reason": "",
            "replayed_run_ids": ["r1"],
        }
    ]
    r1_calls = [w for w in member["writes"] if w["run_id"] == "r1"]
    assert [w["status"] for w in r1_calls] == [503, 503, 503] and [w["attempt"] for w in r1_calls] == [
        1,
        2,
        3,
    ]
    [batch] = [w for w in member["writes"] if w["run_id"] == "replay-1"]
    assert batch["records_in_call"] == 25
    assert [m["email_address"] for m in batch["request_body"]["members"]] == [FIRST]
    assert batch["request_body"]["members_others"] == 24
    assert [m["email_address"] for m in batch["response_body"]["new_members"]] == [FIRST]

    # the refusal, the rename, the departure
    [refused] = member["refusals"]
    assert refused["run_id"] == "r2" and "looks fake" in refused["reason"] and refused["email"] == FAKE
    assert member["refusal_held"] is None  # cleared by r3's success
    assert [(r["run_id"], r["to_email"]) for r in member["renames"]] == [("r3", LAST)]
    assert [(d["run_id"], d["reason"], d["action"]) for d in member["departures"]] == [
        ("r4", "no_role", "untag")
    ]
    assert member["synced_state"] is None  # nothing held once it left
    changes = [
        (c["run_id"], c["from"], c["to"]) for c in member["field_changes"] if c["field"] == "email_address"
    ]
    assert changes == [("r2", FIRST, FAKE), ("r3", FAKE, LAST)]

    # the same story, asked by any of its e-mails, in any case; the first one also names 1023, which took it
    for address in (FAKE, LAST.upper()):
        again = as_json(story, address)
        assert again["an8s"] == [1024]
        assert [o["outcome"] for o in again["targets"]["list_member"]["outcomes"]] == MEMBER_STORY
    both = as_json(story, FIRST)
    assert both["an8s"] == [1023, 1024]
    outcomes = both["targets"]["list_member"]["outcomes"]
    assert [o["outcome"] for o in outcomes if o["an8"] == 1024] == MEMBER_STORY
    theirs = {o["run_id"]: (o["outcome"], o["email"]) for o in outcomes if o["an8"] == 1023}
    assert theirs["r4"] == ("renamed", FIRST) and theirs["r5"] == ("unchanged", None)
    moves = [(c["an8"], c["run_id"], c["to"]) for c in both["targets"]["list_member"]["field_changes"]]
    assert [m for m in moves if "@" in str(m[2])] == [
        (1024, "r2", FAKE),
        (1024, "r3", LAST),
        (1023, "r4", FIRST),
    ]
    assert {e["email"]: e["an8"] for e in both["emails"]}[FIRST] == 1024  # first mapped for 1024

    # stable keys (docs/cli.md)
    assert set(found) == {"asked", "audit", "an8s", "emails", "deleted_in_jde", "runs", "targets"}
    assert set(member) == TARGET_KEYS and set(customer) == TARGET_KEYS
    assert set(member["outcomes"][0]) == OUTCOME_KEYS and set(member["writes"][0]) == WRITE_KEYS
    assert set(found["runs"]["r1"]) == RUN_KEYS


def test_the_text_tells_the_story_per_target_with_a_timeline(story, mc_server):
    code, text = history(story, LAST)

    assert code == 0
    assert "AN8 1024" in text.splitlines()[0]
    secret = urlsplit(story.get("JDE_MC_AUDIT_URL", "")).password
    assert not secret or (secret not in text and secret not in json.dumps(as_json(story, LAST)))
    member, customer = text.split("== ecommerce_customer")
    assert f"== list_member {subscriber_hash(LAST)}" in member
    assert "last checked: " in member and "by run r5 (jde_to_mailchimp_sync" in member
    assert (
        "last synced:  " in member and "by run r3 (jde_to_mailchimp_sync" in member and ": renamed" in member
    )
    assert f"  sent:     PATCH /lists/{mc_server.list_id}/members/{subscriber_hash(FIRST)} " in member
    assert "  answered: 200 {" in member
    assert "refused:      in run r2" in member and "rejected:Invalid Resource" in member
    assert "left scope:   no_role in run r4" in member and "action untag" in member
    assert f"renamed:      to {LAST} in run r3" in member
    assert "replayed:     by run replay-1: created (resolved the failure of r1)" in member
    timeline = [line for line in member.split("timeline:\n", 1)[1].splitlines() if line]
    assert len([line for line in timeline if "-> 503" in line]) == 3
    kinds = [line.split("Z  ", 1)[1].split(" ")[0] for line in timeline]
    assert kinds.count("r1") == 4 and kinds[-1] == "r5"  # three attempts and the outcome; r5 decided last
    assert any(f"email_address: '{FIRST}' -> '{FAKE}'" in line for line in timeline)
    assert "rejected:Customer Was Not Saved" in customer and "action none" in customer
    assert "AN8 " not in member.split("timeline:")[1]  # one party: no AN8 per line

    code, text = history(story, FIRST)
    assert code == 0 and "(AN8 1023, 1024)" in text.splitlines()[0]
    assert "r4 [jde_to_mailchimp_sync] AN8 1023 renamed - renamed from member" in text
    assert "r4 [jde_to_mailchimp_sync] AN8 1024 left_scope:no_role" in text


def test_an_unknown_party_is_a_clear_error_with_exit_code_1(story):
    assert history(story, "4242") == (
        1,
        f"history: the audit store ({location(story)}) knows no party with AN8 4242\n",
    )
    code, text = history(story, "nobody@acme-industries.net")
    assert code == 1 and "knows no party with the e-mail nobody@acme-industries.net" in text
    assert history(story, "jane")[0] == 1


def location(env: dict[str, str]) -> str:
    url = env.get("JDE_MC_AUDIT_URL")
    return open_store(url).location if url else env["JDE_MC_AUDIT_DB"]


@pytest.mark.parametrize("audit_env", ["duckdb"], indirect=True)
def test_live_shows_what_mailchimp_holds_beside_what_we_last_sent(story, mc_server, monkeypatch, capsys):
    edited = "Hand Edited Ltd"
    control(
        mc_server,
        "PATCH",
        f"lists/{mc_server.list_id}/members/{subscriber_hash(LAST)}",
        {"merge_fields": {"COMPANY": edited}},
    )
    for name, value in {
        **story,
        "MAILCHIMP_API_KEY": mc_server.api_key,
        "MAILCHIMP_LIST_ID": mc_server.list_id,
        "MAILCHIMP_API_URL": mc_server.api_url,
    }.items():
        monkeypatch.setenv(name, value)
    writes = write_requests(mc_server)

    assert jde_mc(["history", "1024", "--live", "--json"]) == 0

    found = json.loads(capsys.readouterr().out)
    live = found["targets"]["list_member"]["live"]
    assert live["found"] and live["path"] == f"/lists/{mc_server.list_id}/members/{subscriber_hash(LAST)}"
    fields = {f["field"]: f for f in live["fields"]}
    assert fields["merge_fields.COMPANY"] == {
        "field": "merge_fields.COMPANY",
        "ours": "Party 24",
        "theirs": edited,
        "differs": True,
    }
    assert [f for f, row in fields.items() if row["differs"]] == ["merge_fields.COMPANY"]
    assert fields["email_address"]["theirs"] == LAST
    assert (
        fields["tags (owned)"]["ours"] == [] and fields["tags (owned)"]["theirs"] == []
    )  # untagged on leaving
    assert fields["status"]["ours"] == fields["status"]["theirs"] == "subscribed"
    customer = found["targets"]["ecommerce_customer"]["live"]
    assert customer["found"] and not any(f["differs"] for f in customer["fields"])
    assert {f["field"] for f in customer["fields"]} >= {"email_address", "company", "address.city"}
    assert write_requests(mc_server) == writes  # GETs only
    assert mc_server.api_key.split("-")[0] not in json.dumps(found)

    assert jde_mc(["history", LAST, "--live"]) == 0
    text = capsys.readouterr().out
    [marked] = [line for line in text.splitlines() if "<- differs" in line]
    assert "merge_fields.COMPANY" in marked and "Party 24" in marked and edited in marked
    assert f"live: GET /lists/{mc_server.list_id}/members/{subscriber_hash(LAST)} -> 200" in text


def test_a_replay_that_found_the_failure_superseded_is_shown_as_such(
    ais, sync, store, settings, mc_server, mc_client
):
    """Failures recorded by hand (no `sync_runs` row), a later sync writing the party, then a replay that
    only marks them resolved: the history names the replay with `superseded`, and the run it cannot find
    in `sync_runs` as `unknown`."""
    from jde_mc_pipeline.jde.extract import extract_through
    from jde_mc_pipeline.mapping.options import LIST_MEMBER
    from jde_mc_pipeline.sync.writes import TargetBatch, map_frames, prepare_mailchimp, push_target
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

    prepare_mailchimp(mc_client, settings)
    with ais:
        frames = extract_through(ais, DATASET_NOW.date()).frames
    result = map_frames(frames, settings, None, DATASET_NOW.date())
    control(mc_server, "POST", "faults", {"fault_rate": 1.0, "kinds": ["503"]})
    members = push_target(mc_client, TargetBatch.of(result, LIST_MEMBER), settings)
    control(mc_server, "POST", "faults", {"fault_rate": 0.0})
    store.record_outcomes("push-failed", None, members)
    sync("later")
    replay_failures(store, mc_client, settings, run_id="push-failed", replay_run_id="replay-1")

    found = as_json({"JDE_MC_AUDIT_DB": str(store.path)}, "1005")

    member = found["targets"]["list_member"]
    assert [(o["run_id"], o["outcome"]) for o in member["outcomes"]] == [
        ("push-failed", "failed"),
        ("later", "created"),
    ]
    assert member["replays"] == [
        {
            "run_id": "replay-1",
            "at": None,
            "outcome": "superseded",
            "reason": "a later run had decided it",
            "replayed_run_ids": ["push-failed"],
        }
    ]
    assert found["runs"]["push-failed"] == dict.fromkeys(RUN_KEYS) | {
        "run_id": "push-failed",
        "status": "unknown",
    }
    assert found["runs"]["replay-1"]["job"] == "mailchimp_replay"
    assert member["last_synced"]["run_id"] == "later"

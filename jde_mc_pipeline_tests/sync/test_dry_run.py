"""`jde-mc dry-run` as a subprocess against both emulators (JDE demo data): its counts equal what the
emulators hold (computed independently, expected.py), and it writes nothing, to Mailchimp or to the
audit database."""

from __future__ import annotations

import fcntl
import hashlib
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections import Counter

import pytest
import requests

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB as JOB
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import extract_through, jde_now
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import sync_batch
from jde_mc_pipeline_tests.sync import expected
from jde_mc_pipeline_tests.sync.conftest import FAST_RETRY
from jde_mc_pipeline_tests.sync.support import api, control, jde_upsert, write_requests
from jde_mc_pipeline_tests.sync.test_ping import command_env, jde_mc

DEMO_PARTIES = 300
COUNT_LINE = re.compile(r"^counts (\S+) (\S+) (\d+)$", re.MULTILINE)
FLAG_LINE = re.compile(r"^  flag (\S+) (\d+):", re.MULTILINE)
EVENT_LINE = re.compile(r"^events (\S+) (\S+) (\d+)$", re.MULTILINE)


def counts(output: str) -> dict[tuple[str, str], int]:
    return {(target, outcome): int(n) for target, outcome, n in COUNT_LINE.findall(output)}


@pytest.fixture
def systems(jde_emulator_factory, mailchimp_emulator, tmp_path):
    jde = jde_emulator_factory(demo=DEMO_PARTIES, seed=5, username="MCSYNC", password="s3cret-Passw0rd")
    env = command_env(jde, mailchimp_emulator, JDE_MC_AUDIT_DB=str(tmp_path / "data" / "audit_trail.duckdb"))
    return jde, mailchimp_emulator, env


def expected_counts(parties: dict[int, expected.Party], existing: int) -> dict[tuple[str, str], int]:
    """Outcome counts per target as the contract says, for a first sync (no synced state)."""
    in_scope = [p for p in parties.values() if p.in_scope]
    emails = {p.email for p in in_scope if p.email}
    found: dict[tuple[str, str], int] = {}
    for target in ("list_member", "ecommerce_customer"):
        found[(target, "created")] = len(emails) - (existing if target == "list_member" else 0)
        found[(target, "updated")] = existing if target == "list_member" else 0
        found[(target, "merged")] = sum(1 for p in in_scope if p.email) - len(emails)
        found[(target, "quarantined:no_email")] = sum(1 for p in in_scope if p.email_problem == "no_email")
        found[(target, "quarantined:invalid_email")] = sum(
            1 for p in in_scope if p.email_problem == "invalid_email"
        )
        found[(target, "skipped:out_of_scope")] = len(parties) - len(in_scope)
    return {key: n for key, n in found.items() if n}


def test_dry_run_predicts_a_first_sync_from_what_the_emulators_hold(systems, tmp_path):
    jde, mailchimp, env = systems
    parties = expected.parties(jde.url, jde_now("UTC").day)
    holders = sorted(expected.holders(parties))
    existing = holders[:5]
    for email in existing:
        member_hash = hashlib.md5(email.encode()).hexdigest()
        path = f"/lists/{mailchimp.list_id}/members/{member_hash}"
        assert api(mailchimp, "PUT", path, {"email_address": email, "status_if_new": "subscribed"}).ok
    for email in existing[:2]:
        control(
            mailchimp,
            "POST",
            f"lists/{mailchimp.list_id}/members/{hashlib.md5(email.encode()).hexdigest()}/unsubscribe",
        )
    conflict = {"tag": "COMPANY", "name": "Company", "type": "number"}
    assert api(mailchimp, "POST", f"/lists/{mailchimp.list_id}/merge-fields", conflict).ok
    archived_hash = hashlib.md5(existing[2].encode()).hexdigest()
    assert api(mailchimp, "DELETE", f"/lists/{mailchimp.list_id}/members/{archived_hash}").status_code == 204
    writes = write_requests(mailchimp)

    done = jde_mc("dry-run", "--sample", "3", env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert counts(done.stdout) == expected_counts(parties, existing=len(existing))
    assert dict(Counter(FLAG_LINE.findall(done.stdout))) == {
        ("archived", "1"): 1,
        ("compliance:unsubscribed", "2"): 1,
    }
    assert "stays unsubscribed" in done.stdout and "not re-subscribed" in done.stdout
    assert "WOULD STOP: merge field COMPANY is of type 'number'" in done.stdout
    assert "merge fields a sync would create: JDEAN8" in done.stdout
    assert "  merge field COMPANY is of type 'number', the connector needs" in done.stdout  # likely refusals
    assert "does not exist" in done.stdout
    events = {(target, event): int(n) for target, event, n in EVENT_LINE.findall(done.stdout)}
    sharing = sum(len(g) for g in expected.sharing(parties).values() if len(g) > 1)
    assert (
        events[("list_member", "email_collision")]
        == events[("ecommerce_customer", "email_collision")]
        == sharing
    )
    assert write_requests(mailchimp) == writes
    assert not (tmp_path / "data").exists()


def test_dry_run_reads_the_synced_state_without_writing_it(systems, tmp_path):
    jde, mailchimp, env = systems
    today = jde_now("UTC").day
    store = AuditStore(env["JDE_MC_AUDIT_DB"])
    with AisClient(jde.url, "MCSYNC", "s3cret-Passw0rd", environment="JDV920") as ais:
        frames = extract_through(ais, today).frames
    with MailchimpClient(mailchimp.api_key, api_url=mailchimp.api_url, retry=FAST_RETRY) as client:
        sync_batch(
            frames,
            client,
            store,
            SyncSettings(list_id=mailchimp.list_id),
            run_id="first",
            job=JOB,
            today=today,
        )
    parties = expected.parties(jde.url, today)
    emails = {p.email for p in parties.values() if p.in_scope and p.email}
    groups = expected.sharing(parties)
    mover = min(
        (p for p in parties.values() if p.in_scope and p.email and len(groups[p.email]) == 1),
        key=lambda p: p.an8,
    )
    [row] = [
        r
        for r in requests.get(f"{jde.url}/_emulator/rows/F01151", timeout=30).json()["rows"]
        if r["EAAN8"] == mover.an8 and r["EAIDLN"] == 0 and r["EAEMAL"].strip().lower() == mover.email
    ]
    jde_upsert(jde.url, "F01151", [{**row, "EAEMAL": "moved.on@newdomain.io"}])
    leaver = min(
        (
            p
            for p in parties.values()
            if p.is_vendor and not p.is_customer and p.email and len(groups[p.email]) == 1 and p != mover
        ),
        key=lambda p: p.an8,
    )
    jde_upsert(jde.url, "F0101", [{"ABAN8": leaver.an8, "ABAT1": "E"}])
    control(
        mailchimp,
        "POST",
        f"lists/{mailchimp.list_id}/members/{expected.subscriber_hash(mover.email)}/unsubscribe",
    )
    writes = write_requests(mailchimp)
    before = store.path.read_bytes()

    done = jde_mc("dry-run", "--end", today.isoformat(), env=env)

    assert done.returncode == 0, done.stdout + done.stderr
    found = counts(done.stdout)
    assert (
        found[("list_member", "unchanged")] == found[("ecommerce_customer", "unchanged")] == len(emails) - 2
    )
    assert found[("list_member", "renamed")] == found[("ecommerce_customer", "renamed")] == 1
    assert (
        found[("list_member", "left_scope:no_role")]
        == found[("ecommerce_customer", "left_scope:no_role")]
        == 1
    )
    assert f"AN8 {leaver.an8} {leaver.email}  on_leave untag: JDE Vendor set inactive" in done.stdout
    assert not {outcome for _, outcome in found} & {"created", "updated"}
    assert f"AN8 {mover.an8} moved.on@newdomain.io  compliance:unsubscribed" in done.stdout
    assert "(read-only)" in done.stdout and f"{len(emails)} list_member" in done.stdout
    assert write_requests(mailchimp) == writes
    assert store.path.read_bytes() == before


def test_dry_run_of_a_window_and_its_errors(systems):
    jde, _, env = systems
    today = jde_now("UTC").day
    rows = expected.raw_rows(jde.url)
    days = sorted(expected.julian(r["UPMJ"]) for r in rows["F0101"] if r.get("UPMJ"))
    start = days[len(days) // 2]
    changed = {
        r["AN8"]
        for table in rows.values()
        for r in table
        if r.get("UPMJ") and expected.julian(r["UPMJ"]) >= start
    }

    window = jde_mc("dry-run", "--start", start.isoformat(), env=env)
    backwards = jde_mc("dry-run", "--start", "2026-02-02", "--end", "2026-02-01", env=env)
    unset = jde_mc("dry-run", env={**env, "MAILCHIMP_LIST_ID": ""})

    assert window.returncode == 0, window.stdout + window.stderr
    assert f"UPMJ in [{start}, {today}]: {len(changed)} parties pulled" in window.stdout
    assert 0 < len(changed) < DEMO_PARTIES
    assert sum(n for (target, _), n in counts(window.stdout).items() if target == "list_member") == len(
        changed
    )
    assert backwards.returncode == 1 and "is after --end" in backwards.stdout
    assert unset.returncode == 1 and "MAILCHIMP_LIST_ID is not set" in unset.stdout
    assert "\r" not in window.stdout + window.stderr  # piped: no progress bar


def test_on_a_terminal_the_dry_run_shows_its_progress(systems):
    """tqdm draws the bar (carriage returns, rows and rate) when the output is a terminal."""
    _, _, env = systems
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal has a size
    done = subprocess.run(
        [sys.executable, "-m", "jde_mc_pipeline.cli", "dry-run", "--sample", "1"],
        env=env, stdin=child, stdout=child, stderr=child, timeout=120, check=False,
    )  # fmt: skip
    os.close(child)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal is closed once everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    text = shown.decode("utf-8", "replace")

    assert done.returncode == 0, text
    assert "\r" in text and "reading JDE" in text and "rows/s" in text


def test_dry_run_with_segment_fields_reads_their_codes_and_judges_their_merge_fields(systems):
    """Segment fields configured: the dry run reads the UDC descriptions like the sync (OEM, a class with
    no F0005 row, gives `udc_missing` events), names the merge field a sync would create, and stops on
    one of a conflicting type, as the sync would before its first write."""
    _, mailchimp, env = systems
    segments = (
        '[{"column": "F0101.AC02", "merge_field": "CUSTTYPE", "type": "dropdown"},'
        ' {"column": "F0101.AC01", "tag_prefix": "JDE Region: "}]'
    )
    env = {**env, "JDE_MC_SEGMENT_FIELDS": segments}
    writes = write_requests(mailchimp)

    fresh = jde_mc("dry-run", env=env)
    conflict = {"tag": "CUSTTYPE", "name": "Customer type", "type": "text"}
    assert api(mailchimp, "POST", f"/lists/{mailchimp.list_id}/merge-fields", conflict).ok
    blocked = jde_mc("dry-run", env=env)

    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "merge fields a sync would create: COMPANY, JDEAN8, CUSTTYPE" in fresh.stdout, fresh.stdout
    events = {(target, event): int(n) for target, event, n in EVENT_LINE.findall(fresh.stdout)}
    assert events.get(("list_member", "udc_missing"), 0) > 0
    assert "WOULD STOP: merge field CUSTTYPE is of type 'text'" in blocked.stdout
    assert write_requests(mailchimp) == writes + 1  # the test's own POST of the conflicting field

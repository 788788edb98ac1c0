"""`--marketer K/S`: the emulator's hand-made changes, the same for a seed, seen over HTTP."""

from __future__ import annotations

import random
import subprocess
import sys
import time

import requests

from jde_mc_pipeline.demo import DemoOptions, start_emulators
from jde_mc_pipeline.emulators.mailchimp.marketer_churn import MARKETER_TAGS
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi

START = 1_800_000_000.0


def fill(api: MailchimpApi, order: list[int]) -> None:
    """30 contacts with COMPANY and a connector tag, created in `order` (a sync's order varies)."""
    company = {"tag": "COMPANY", "name": "Company", "type": "text"}
    assert api.request("POST", f"/lists/{api.list_id}/merge-fields", json=company).status_code == 200
    for n in order:
        body = {
            "email_address": f"c{n:02}@gmail.com",
            "status": "subscribed",
            "merge_fields": {"COMPANY": f"Company {n}"},
            "tags": ["JDE Customer"],
        }
        assert api.request("POST", api.members_path(), json=body).status_code == 200


def members(api: MailchimpApi) -> dict[str, dict]:
    found = {}
    for status in ("subscribed", "unsubscribed", "archived"):
        read = api.request("GET", api.members_path(), params={"status": status, "count": 1000}).json()
        for member in read["members"]:
            tags = sorted(t["name"] for t in member["tags"])
            found[member["email_address"]] = (member["status"], member["merge_fields"]["COMPANY"], tags)
    return found


def run_rounds(factory, order: list[int], seed: int) -> tuple[list, dict, dict]:
    server = factory(seed=seed, batch_step_seconds=0, clock=lambda: START)
    api = MailchimpApi(server)
    fill(api, order)
    before = members(api)
    rng = random.Random(seed)
    for _ in range(4):
        server.marketer_once(rng, 3)
    actions = requests.get(f"{server.url}/_emulator/marketer", timeout=10).json()["actions"]
    return actions, before, members(api)


def test_marketer_rounds_are_deterministic_for_a_seed_whatever_the_creation_order(
    mailchimp_emulator_factory,
):
    forward, before, after = run_rounds(mailchimp_emulator_factory, list(range(30)), seed=11)
    backward, _, after_backward = run_rounds(mailchimp_emulator_factory, list(range(29, -1, -1)), seed=11)
    assert forward == backward and after == after_backward
    other, _, _ = run_rounds(mailchimp_emulator_factory, list(range(30)), seed=12)
    assert other != forward
    assert len(forward) == 12
    changed = {email for email in before if after.get(email) != before[email]}
    assert changed == {a["email_address"] for a in forward}


def test_each_action_does_what_it_says(mailchimp_emulator_factory):
    actions, before, after = run_rounds(mailchimp_emulator_factory, list(range(30)), seed=11)
    seen = set()
    for action in actions:
        status, company, tags = after[action["email_address"]]
        old_status, old_company, old_tags = before[action["email_address"]]
        kind = action["kind"]
        seen.add(kind)
        if kind == "unsubscribe":
            assert old_status == "subscribed" and status == "unsubscribed"
        elif kind == "archive":
            assert status == "archived"
        elif kind == "edit_company":
            assert company != old_company and action["detail"].startswith("COMPANY: ")
        elif kind == "remove_tag":
            assert action["detail"] == "JDE Customer" in old_tags and "JDE Customer" not in tags
        else:
            assert kind == "add_own_tag" and action["detail"] in MARKETER_TAGS and action["detail"] in tags
        assert action["at"] == "2027-01-15T08:00:00+00:00"
    assert len(seen) >= 4  # 12 draws from five kinds


def test_stats_count_rounds_actions_and_skips(mailchimp_emulator_factory):
    server = mailchimp_emulator_factory(seed=1, batch_step_seconds=0)
    taken = server.marketer_once(random.Random(1), 2)  # an empty audience: nothing to act on
    assert taken == [None, None]
    stats = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
    assert stats["marketer_rounds"] == 1 and stats["marketer_skipped"] == 2
    assert requests.get(f"{server.url}/_emulator/marketer", timeout=10).json() == {"actions": []}


def test_the_marketer_thread_acts_every_s_seconds(mailchimp_emulator_factory):
    server = mailchimp_emulator_factory(seed=2, batch_step_seconds=0, marketer=(1, 0.05))
    api = MailchimpApi(server)
    fill(api, list(range(5)))
    deadline = time.monotonic() + 20
    actions: list = []
    while time.monotonic() < deadline and len(actions) < 2:
        actions = requests.get(f"{server.url}/_emulator/marketer", timeout=10).json()["actions"]
        time.sleep(0.05)
    assert len(actions) >= 2
    touched = api.request("GET", api.members_path(md5(actions[0]["email_address"])))
    assert touched.status_code == 200


def test_cli_takes_marketer_k_s():
    command = [sys.executable, "-m", "jde_mc_pipeline.cli", "emulate", "mailchimp", "--marketer", "2/0.05"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.split("MAILCHIMP_API_URL=", 1)[1].split("/{dc}", 1)[0]
        deadline = time.monotonic() + 20
        rounds = 0
        while time.monotonic() < deadline and rounds < 2:
            rounds = requests.get(f"{url}/_emulator/stats", timeout=10).json().get("marketer_rounds", 0)
            time.sleep(0.05)
        assert rounds >= 2
    finally:
        process.terminate()
        process.wait(timeout=10)
    bad = subprocess.run([*command[:-1], "2"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "K/S" in bad.stderr


def test_the_demo_plays_the_marketer_only_while_its_churn_runs():
    stilled = DemoOptions(parties=10, churn=(0, 30.0), marketer=(1, 0.05))
    acting = DemoOptions(parties=10, churn=(1, 30.0), marketer=(1, 0.05))
    rounds = {}
    for name, options in (("stilled", stilled), ("acting", acting)):
        jde, mailchimp = start_emulators(options, "UTC")
        try:
            deadline = time.monotonic() + (0.5 if name == "stilled" else 20)
            while time.monotonic() < deadline and rounds.get(name, 0) < 2:
                stats = requests.get(f"{mailchimp.url}/_emulator/stats", timeout=10).json()
                rounds[name] = stats.get("marketer_rounds", 0)
                time.sleep(0.05)
        finally:
            mailchimp.stop()
            jde.stop()
    assert rounds["stilled"] == 0 and rounds["acting"] >= 2

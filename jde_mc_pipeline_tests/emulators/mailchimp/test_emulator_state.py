"""The emulator's state file and its command line (`jde-mc emulate mailchimp`)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import requests

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi


def test_state_file_round_trip(tmp_path, mailchimp_emulator_factory):
    state_file = str(tmp_path / "mailchimp.json")
    first = mailchimp_emulator_factory(state_file=state_file, list_id="0a1b2c3d4e")
    api = MailchimpApi(first)
    kept = put(api, "kept@gmail.com", status_if_new="subscribed", tags=["JDE Customer"]).json()
    erased = put(api, "erased@gmail.com", status_if_new="subscribed").json()
    api.request("POST", api.members_path(erased["id"]) + "/actions/delete-permanent")
    api.self_unsubscribe(md5("kept@gmail.com"))
    store = {"id": "jde-e1", "list_id": api.list_id, "name": "JDE", "currency_code": "USD"}
    api.request("POST", "/ecommerce/stores", json=store)
    api.request(
        "PUT",
        "/ecommerce/stores/jde-e1/customers/7",
        json={"id": "7", "email_address": "c@gmail.com", "opt_in_status": False},
    )
    first.save_state()
    assert json.loads((tmp_path / "mailchimp.json").read_text())["lists"][0]["id"] == "0a1b2c3d4e"

    again = MailchimpApi(mailchimp_emulator_factory(state_file=state_file, list_id="0a1b2c3d4e"))
    member = again.request("GET", again.members_path(kept["id"])).json()
    assert member["contact_id"] == kept["contact_id"] and member["tags"][0]["name"] == "JDE Customer"
    assert put(again, "kept@gmail.com", status="subscribed").json()["title"] == "Member In Compliance State"
    assert (
        put(again, "erased@gmail.com", status_if_new="subscribed").json()["title"]
        == "Forgotten Email Not Subscribed"
    )
    duplicate = again.request(
        "PUT",
        "/ecommerce/stores/jde-e1/customers/8",
        json={"id": "8", "email_address": "C@gmail.com", "opt_in_status": False},
    )
    assert duplicate.json()["detail"] == "This customer email already exists"
    assert again.request("GET", f"/lists/{again.list_id}").json()["stats"]["unsubscribe_count"] == 1
    put(again, "later@gmail.com", status_if_new="subscribed")
    again.control("POST", "reset")
    assert again.request("GET", again.members_path(md5("later@gmail.com"))).status_code == 404
    assert again.request("GET", again.members_path(kept["id"])).status_code == 200


def test_cli_prints_one_ready_line_and_saves_state_on_ctrl_c(tmp_path):
    state_file = tmp_path / "state.json"
    command = [sys.executable, "-m", "jde_mc_pipeline.cli", "emulate", "mailchimp", "--port", "0"]
    command += [
        "--state",
        str(state_file),
        "--list-id",
        "feedc0ffee",
        "--seed",
        "3",
        "--max-connections",
        "4",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        found = re.fullmatch(
            r"Mailchimp emulator ready: MAILCHIMP_API_URL=(http://127\.0\.0\.1:\d+/\{dc\}/3\.0) "
            r"MAILCHIMP_API_KEY=([0-9a-f]{32}-(\w+)) MAILCHIMP_LIST_ID=feedc0ffee\n",
            line,
        )
        assert found, line
        api_url, key, dc = found.groups()
        base = api_url.format(dc=dc)
        response = requests.put(
            f"{base}/lists/feedc0ffee/members/{md5('cli@gmail.com')}",
            json={"email_address": "cli@gmail.com", "status_if_new": "subscribed"},
            auth=("u", key),
            timeout=10,
        )
        assert response.status_code == 200
        assert (
            requests.get(api_url.replace("/{dc}/3.0", "/_emulator/stats"), timeout=10).json()[
                "max_connections"
            ]
            == 4
        )
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert process.returncode == 0
    saved = json.loads(state_file.read_text())
    assert [m["email_address"] for m in saved["lists"][0]["members"].values()] == ["cli@gmail.com"]

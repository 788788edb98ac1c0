"""`/batches` in the emulator: stages, counters, the signed results archive."""

from __future__ import annotations

import io
import json
import tarfile
import time

import requests

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi


def wait_finished(api, batch_id, timeout=20.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        batch = api.request("GET", f"/batches/{batch_id}").json()
        if not seen or seen[-1] != batch["status"]:
            seen.append(batch["status"])
        if batch["status"] == "finished":
            return batch, seen
        time.sleep(0.005)
    raise AssertionError(f"batch {batch_id} did not finish: {seen}")


def read_archive(url):
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    results = []
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile():
                results.extend(json.load(archive.extractfile(member)))
    return results


def member_op(api, email, operation_id, **body):
    body.setdefault("email_address", email)
    return {
        "method": "PUT",
        "path": f"/lists/{api.list_id}/members/{md5(email)}",
        "operation_id": operation_id,
        "body": json.dumps(body),
    }


def test_batch_runs_operations_through_the_same_rules(mailchimp_api):
    operations = [
        member_op(mailchimp_api, "b1@gmail.com", "op-1", status_if_new="subscribed"),
        member_op(mailchimp_api, "bad@example.com", "op-2", status_if_new="subscribed"),
        {
            "method": "GET",
            "path": f"/lists/{mailchimp_api.list_id}/members",
            "operation_id": "op-3",
            "params": {"count": 1},
        },
        {
            "method": "DELETE",
            "path": f"/lists/{mailchimp_api.list_id}/members/{md5('b1@gmail.com')}",
            "operation_id": "op-4",
        },
        {
            "method": "PUT",
            "path": f"/lists/{mailchimp_api.list_id}/members/x",
            "operation_id": "op-5",
            "body": {"not": "a string"},
        },
    ]
    started = mailchimp_api.request("POST", "/batches", json={"operations": operations})
    assert started.status_code == 200
    batch = started.json()
    assert batch["status"] == "pending" and batch["total_operations"] == 0
    assert batch["completed_at"] == "" and batch["response_body_url"] == ""
    assert len(batch["id"]) == 10
    finished, stages = wait_finished(mailchimp_api, batch["id"])
    assert stages[-1] == "finished" and set(stages) <= {
        "pending",
        "preprocessing",
        "started",
        "finalizing",
        "finished",
    }
    assert (
        finished["total_operations"],
        finished["finished_operations"],
        finished["errored_operations"],
    ) == (5, 5, 2)
    assert finished["completed_at"]
    assert finished["response_body_url"].startswith(mailchimp_api.url + "/")
    results = {r["operation_id"]: r for r in read_archive(finished["response_body_url"])}
    assert results["op-1"]["status_code"] == 200
    assert json.loads(results["op-1"]["response"])["email_address"] == "b1@gmail.com"
    assert results["op-2"]["status_code"] == 400
    assert "looks fake or invalid" in json.loads(results["op-2"]["response"])["detail"]
    assert json.loads(results["op-3"]["response"])["total_items"] == 1
    assert (results["op-4"]["status_code"], results["op-4"]["response"]) == (204, "")
    assert results["op-5"]["status_code"] == 400
    assert (
        mailchimp_api.request("GET", mailchimp_api.members_path(md5("b1@gmail.com"))).json()["status"]
        == "archived"
    )


def test_large_batch_is_split_into_several_files(mailchimp_api):
    operations = [
        member_op(mailchimp_api, f"n{i}@gmail.com", f"op-{i}", status_if_new="transactional")
        for i in range(1200)
    ]
    batch = mailchimp_api.request("POST", "/batches", json={"operations": operations}).json()
    finished, _ = wait_finished(mailchimp_api, batch["id"])
    archive = requests.get(finished["response_body_url"], timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        assert len([m for m in tar.getmembers() if m.isfile()]) == 3
    results = read_archive(finished["response_body_url"])
    assert sorted(r["operation_id"] for r in results) == sorted(f"op-{i}" for i in range(1200))
    assert mailchimp_api.stats()["batch_operations"] == 1200


def test_batch_listing_and_delete(mailchimp_api):
    first = mailchimp_api.request("POST", "/batches", json={"operations": []}).json()
    wait_finished(mailchimp_api, first["id"])
    listed = mailchimp_api.request("GET", "/batches").json()
    assert listed["total_items"] == 1 and listed["batches"][0]["id"] == first["id"]
    assert mailchimp_api.request("DELETE", f"/batches/{first['id']}").status_code == 204
    assert_problem(mailchimp_api.request("GET", f"/batches/{first['id']}"), 404, "Resource Not Found")


def test_batch_schema_errors(mailchimp_api):
    not_object = mailchimp_api.request("POST", "/batches", json=[{"method": "GET", "path": "/ping"}])
    assert assert_problem(not_object, 400, "Invalid Resource")["errors"][0]["message"].startswith(
        "Schema describes object, array found instead"
    )
    bad_method = mailchimp_api.request(
        "POST", "/batches", json={"operations": [{"method": "FETCH", "path": "/ping"}]}
    )
    assert_problem(bad_method, 400, "Invalid Resource")
    no_path = mailchimp_api.request("POST", "/batches", json={"operations": [{"method": "GET"}]})
    assert_problem(no_path, 400, "Invalid Resource")


def test_archive_url_expires_after_ten_minutes(mailchimp_emulator_factory):
    now = [1_800_000_000.0]
    api = MailchimpApi(mailchimp_emulator_factory(batch_step_seconds=0, clock=lambda: now[0]))
    batch = api.request("POST", "/batches", json={"operations": [{"method": "GET", "path": "/ping"}]}).json()
    finished, _ = wait_finished(api, batch["id"])
    url = finished["response_body_url"]
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(url.replace("signature=", "signature=0"), timeout=10).status_code == 403
    now[0] += 601
    assert requests.get(url, timeout=10).status_code == 403
    fresh = api.request("GET", f"/batches/{batch['id']}").json()["response_body_url"]
    assert read_archive(fresh)[0]["response"] == json.dumps({"health_status": "Everything's Chimpy!"})


def test_params_apply_to_get_operations_only(mailchimp_api):
    member = mailchimp_api.members_path(md5("p@gmail.com"))
    trim = {"exclude_fields": "_links,merge_fields"}
    operations = [
        dict(member_op(mailchimp_api, "p@gmail.com", "put", status_if_new="subscribed"), params=trim),
        {"method": "PATCH", "path": f"{member}?fields=id", "operation_id": "patch", "body": "{}"},
        {"method": "GET", "path": member, "operation_id": "get", "params": trim},
        {"method": "GET", "path": f"{member}?fields=status", "operation_id": "get-path"},
    ]
    batch = mailchimp_api.request("POST", "/batches", json={"operations": operations}).json()
    finished, _ = wait_finished(mailchimp_api, batch["id"])
    archive = read_archive(finished["response_body_url"])
    results = {r["operation_id"]: json.loads(r["response"]) for r in archive}
    assert {"_links", "merge_fields", "email_address"} <= set(results["put"])  # the query was dropped
    assert {"_links", "id", "status"} <= set(results["patch"])
    assert "_links" not in results["get"] and "merge_fields" not in results["get"]
    assert results["get"]["email_address"] == "p@gmail.com"
    assert results["get-path"] == {"status": "subscribed"}
    bad = {"method": "GET", "path": "/ping", "params": ["count", 1]}
    refused = mailchimp_api.request("POST", "/batches", json={"operations": [bad]})
    assert assert_problem(refused, 400, "Invalid Resource")["errors"] == [
        {"field": "operations.0.params", "message": "Schema describes object"}
    ]


def test_unfinished_batches_beyond_the_limit_get_429(mailchimp_emulator_factory):
    api = MailchimpApi(mailchimp_emulator_factory(batch_step_seconds=0.25, max_pending_batches=2))
    ping = {"operations": [{"method": "GET", "path": "/ping"}]}
    first, second = (api.request("POST", "/batches", json=ping).json() for _ in range(2))
    refused = api.request("POST", "/batches", json=ping)
    document = assert_problem(refused, 429, "Too Many Requests")
    assert document["detail"] == "You have exceeded the limit of 2 pending batches. Try again later."
    assert api.request("GET", "/batches").json()["total_items"] == 2  # the refused one was not created
    assert api.request("DELETE", f"/batches/{second['id']}").status_code == 204  # a deleted one frees a place
    third = api.request("POST", "/batches", json=ping)
    assert third.status_code == 200
    assert api.request("POST", "/batches", json=ping).status_code == 429
    wait_finished(api, first["id"])  # a finished one frees a place too
    assert api.request("POST", "/batches", json=ping).status_code == 200
    stats = api.stats()
    assert stats["batches_refused"] == 2 and stats["throttled"] == 0
    assert stats["requests"]["POST /batches"] == {"200": 4, "429": 2}


def test_the_default_limit_is_mailchimps_500_pending_batches(mailchimp_emulator):
    assert mailchimp_emulator.app.batches.max_pending == 500

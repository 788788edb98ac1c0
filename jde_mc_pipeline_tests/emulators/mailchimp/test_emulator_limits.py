"""Connection limit, latency, fault injection, stats and reset of the Mailchimp emulator."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put
from jde_mc_pipeline_tests.mailchimp.conftest import MailchimpApi


def simultaneous_pings(api: MailchimpApi, count: int) -> list[requests.Response]:
    barrier = threading.Barrier(count)

    def ping(_: int) -> requests.Response:
        barrier.wait()
        return requests.get(f"{api.base}/ping", auth=("u", api.api_key), timeout=30)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(ping, range(count)))


def test_more_simultaneous_requests_than_the_limit_get_429(mailchimp_emulator_factory):
    api = MailchimpApi(mailchimp_emulator_factory(max_connections=3, latency_ms=1000))
    responses = simultaneous_pings(api, 8)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 3 and statuses.count(429) == 5
    throttled = next(r for r in responses if r.status_code == 429)
    document = assert_problem(throttled, 429, "Too Many Requests")
    assert document["detail"] == "You have exceeded the limit of 3 simultaneous connections."
    assert "Retry-After" not in throttled.headers
    stats = api.stats()
    assert stats["throttled"] == 5
    assert stats["max_concurrent"] == 8
    assert stats["requests"]["GET /ping"] == {"200": 3, "429": 5}
    assert stats["in_flight"] == 0
    assert [r.status_code for r in simultaneous_pings(api, 3)] == [200, 200, 200]


def test_control_endpoints_are_not_counted_nor_limited(mailchimp_emulator_factory):
    api = MailchimpApi(mailchimp_emulator_factory(max_connections=1, latency_ms=1500))
    slow = threading.Thread(
        target=lambda: requests.get(f"{api.base}/ping", auth=("u", api.api_key), timeout=30)
    )
    slow.start()
    time.sleep(0.2)
    started = time.monotonic()
    stats = api.stats()
    assert time.monotonic() - started < 1.0
    assert stats["in_flight"] == 1
    slow.join()
    assert api.stats()["max_concurrent"] == 1


def test_latency_applies_to_every_api_request(mailchimp_emulator_factory):
    api = MailchimpApi(mailchimp_emulator_factory(latency_ms=500))
    started = time.monotonic()
    api.request("GET", "/ping")
    assert time.monotonic() - started >= 0.5
    api.set_faults(latency_ms=0)
    started = time.monotonic()
    api.request("GET", "/ping")
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("kind", "status", "title"), [("500", 500, "Internal Server Error"), ("503", 503, "Service Unavailable")]
)
def test_injected_error_answers(mailchimp_api, kind, status, title):
    mailchimp_api.set_faults(fault_rate=1.0, kinds=[kind])
    response = put(mailchimp_api, "f@gmail.com", status_if_new="subscribed")
    assert_problem(response, status, title)
    stats = mailchimp_api.stats()
    assert stats[f"fault_{kind}"] == 1
    mailchimp_api.set_faults(fault_rate=0.0)
    assert mailchimp_api.request("GET", mailchimp_api.members_path(md5("f@gmail.com"))).status_code == 404


@pytest.mark.parametrize(
    ("kind", "status", "page_title"),
    [
        ("html_429", 429, "429 Too Many Requests"),
        ("html_503", 503, "503 Service Temporarily Unavailable"),
        ("html_403", 403, "Access Denied"),
        ("bare_403", 403, None),
    ],
)
def test_injected_gateway_answers_are_not_json(mailchimp_api, kind, status, page_title):
    mailchimp_api.set_faults(fault_rate=1.0, kinds=[kind])
    response = put(mailchimp_api, "g@gmail.com", status_if_new="subscribed")
    assert response.status_code == status
    if page_title is None:
        assert response.content == b"" and "Content-Type" not in response.headers
    else:
        assert response.headers["Content-Type"] == "text/html"
        assert f"<title>{page_title}</title>" in response.text.replace("TITLE", "title")
        with pytest.raises(ValueError):
            response.json()
    assert "X-Request-Id" not in response.headers  # the API never saw the request
    assert mailchimp_api.stats()[f"fault_{kind}"] == 1
    mailchimp_api.set_faults(fault_rate=0.0)
    assert mailchimp_api.request("GET", mailchimp_api.members_path(md5("g@gmail.com"))).status_code == 404


def test_injected_connection_reset(mailchimp_api):
    mailchimp_api.set_faults(fault_rate=1.0, kinds=["reset"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{mailchimp_api.base}/ping", auth=("u", mailchimp_api.api_key), timeout=10)
    stats = mailchimp_api.stats()
    assert stats["requests"]["GET /ping"] == {"0": 1} and stats["fault_reset"] == 1


def test_reset_after_write_applies_the_write(mailchimp_api):
    mailchimp_api.set_faults(fault_rate=1.0, kinds=["reset_after"])
    with pytest.raises(requests.ConnectionError):
        requests.put(
            f"{mailchimp_api.base}{mailchimp_api.members_path(md5('w@gmail.com'))}",
            json={"email_address": "w@gmail.com", "status_if_new": "subscribed"},
            auth=("u", mailchimp_api.api_key),
            timeout=10,
        )
    mailchimp_api.set_faults(fault_rate=0.0)
    assert mailchimp_api.request("GET", mailchimp_api.members_path(md5("w@gmail.com"))).status_code == 200


def test_slow_answers_outlast_a_short_timeout(mailchimp_api):
    mailchimp_api.set_faults(fault_rate=1.0, kinds=["slow"], slow_ms=600)
    with pytest.raises(requests.Timeout):
        requests.get(f"{mailchimp_api.base}/ping", auth=("u", mailchimp_api.api_key), timeout=0.2)
    started = time.monotonic()
    assert mailchimp_api.request("GET", "/ping").status_code == 200
    assert time.monotonic() - started >= 0.6


def test_fault_settings_are_checked_and_control_endpoints_never_faulted(mailchimp_api):
    settings = mailchimp_api.set_faults(fault_rate=1.0, kinds=["500"])
    assert settings["fault_rate"] == 1.0 and settings["kinds"] == ["500"]
    assert mailchimp_api.control("GET", "stats").status_code == 200
    for bad in (
        {"fault_rate": 2},
        {"kinds": ["explode"]},
        {"kinds": ["html_500"]},
        {"slow_ms": -1},
        {"colour": "red"},
    ):
        response = mailchimp_api.control("POST", "faults", json=bad)
        assert response.status_code == 400 and response.json()["error"]
    assert mailchimp_api.control("GET", "faults").json()["kinds"] == ["500"]


def test_seeded_fault_sequence_is_reproducible(mailchimp_emulator_factory):
    def statuses(seed):
        api = MailchimpApi(mailchimp_emulator_factory(seed=seed, fault_rate=0.5, fault_kinds=["500", "503"]))
        return [api.request("GET", "/ping").status_code for _ in range(20)]

    first = statuses(11)
    assert first == statuses(11)
    assert 200 in first and {500, 503} & set(first)
    assert first != statuses(12)


def test_stats_count_by_route_template_and_reset_restores_the_start(mailchimp_api):
    put(mailchimp_api, "s1@gmail.com", status_if_new="subscribed")
    put(mailchimp_api, "s2@gmail.com", status_if_new="subscribed")
    put(mailchimp_api, "bad", status_if_new="subscribed")
    mailchimp_api.request("GET", "/lists/unknown")
    requests.get(f"{mailchimp_api.base}/ping", timeout=10)
    mailchimp_api.set_faults(latency_ms=5)
    stats = mailchimp_api.stats()
    assert stats["requests"] == {
        "PUT /lists/{list_id}/members/{subscriber_hash}": {"200": 2, "400": 1},
        "GET /lists/{list_id}": {"404": 1},
        "GET /ping": {"401": 1},
    }
    assert stats["total_requests"] == 5
    assert mailchimp_api.control("POST", "reset").status_code == 200
    assert mailchimp_api.stats()["total_requests"] == 0
    assert mailchimp_api.control("GET", "faults").json()["latency_ms"] == 0
    assert mailchimp_api.request("GET", mailchimp_api.members_path()).json()["total_items"] == 0

"""Client configuration that needs no server: data center, URL template, the process-wide cap."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from jde_mc_pipeline.emulators.http import EmulatorServer, Request, Response
from jde_mc_pipeline.mailchimp.client import MailchimpClient, RetryPolicy, data_center
from jde_mc_pipeline.mailchimp.errors import MailchimpConfigError
from jde_mc_pipeline.mailchimp.limits import ConnectionCap, connection_cap_for

SECRET = "fedcba9876543210fedcba9876543210"


def test_data_center_is_the_part_after_the_last_dash() -> None:
    assert data_center(f"{SECRET}-us21") == "us21"
    assert data_center(f"with-dash-{SECRET}-US6") == "us6"


@pytest.mark.parametrize("key", [SECRET, f"{SECRET}-", f"{SECRET}-??", ""])
def test_key_without_data_center_is_a_clear_error_without_the_key(key: str) -> None:
    with pytest.raises(MailchimpConfigError) as caught:
        data_center(key)
    assert "data center" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_base_url_comes_from_the_template() -> None:
    assert MailchimpClient(f"{SECRET}-us3").base_url == "https://us3.api.mailchimp.com/3.0"
    client = MailchimpClient(f"{SECRET}-us3", api_url="http://127.0.0.1:9/{dc}/3.0/")
    assert client.base_url == "http://127.0.0.1:9/us3/3.0"
    assert SECRET not in repr(client)
    with pytest.raises(MailchimpConfigError, match=r"\{dc\}"):
        MailchimpClient(f"{SECRET}-us3", api_url="http://127.0.0.1:9/3.0")


def test_cap_above_ten_is_clamped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        client = MailchimpClient(f"{SECRET}-clamp1", max_connections=25)
    assert client.max_connections == 10
    assert client.cap.limit == 10
    assert "exceeds Mailchimp's limit" in caplog.text
    with pytest.raises(MailchimpConfigError):
        MailchimpClient(f"{SECRET}-clamp1", max_connections=0)


def test_one_cap_per_key_for_every_client_of_the_process() -> None:
    first = MailchimpClient(f"{SECRET}-share1", max_connections=3)
    second = MailchimpClient(f"{SECRET}-share1", max_connections=3)
    other = MailchimpClient(f"{SECRET}-share2", max_connections=3)
    assert first.cap is second.cap
    assert first.cap is not other.cap
    assert connection_cap_for(f"{SECRET}-share1", 3) is first.cap


def test_cap_holds_across_many_threads() -> None:
    cap = ConnectionCap(3)
    inside = 0
    seen = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, seen
        with cap.slot():
            with lock:
                inside += 1
                seen = max(seen, inside)
            time.sleep(0.01)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == 3
    assert cap.peak == 3


def test_throttling_lowers_the_slots_and_successes_give_them_back() -> None:
    cap = ConnectionCap(4)
    cap.record_throttled()
    cap.record_throttled()
    assert cap.effective == 2
    for _ in range(2):
        cap.record_success()
    assert cap.effective == 3
    for _ in range(10):
        cap.record_success()
    assert cap.effective == 4


def test_retry_after_is_honoured_when_a_server_sends_it() -> None:
    """Mailchimp is not known to send Retry-After (the emulator does not); a plain server here does."""
    seen: list[float] = []

    def app(request: Request) -> Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Response.json(
                429, {"title": "Too Many Requests", "status": 429}, headers={"Retry-After": "1"}
            )
        return Response.json(200, {"health_status": "Everything's Chimpy!"})

    with EmulatorServer(app) as server:
        fast = RetryPolicy(max_attempts=3, max_total_s=10, base_wait_s=0.01, max_wait_s=5)
        client = MailchimpClient(f"{SECRET}-retry1", api_url=f"{server.url}/{{dc}}/3.0", retry=fast)
        assert client.ping() == "Everything's Chimpy!"
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.95

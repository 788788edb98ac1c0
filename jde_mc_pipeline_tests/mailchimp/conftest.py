"""Mailchimp emulator fixtures: real servers on 127.0.0.1, stopped at teardown.

- `mailchimp_emulator_factory(**build_server_kwargs)` → a started `MailchimpEmulatorServer`
  (`.url`, `.api_url` = `{url}/{dc}/3.0` template, `.api_key`, `.list_id`, `.app`).
- `mailchimp_emulator`: a started default server (seeded, fast batch stages).
- `mailchimp_api`: a `MailchimpApi` on `mailchimp_emulator`: authenticated session, `base` (the URL with
  the data center filled in), and helpers for the control endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer, build_server

TEST_BATCH_STEP_SECONDS = 0.02


class MailchimpApi:
    """A thin HTTP helper for emulator tests (not the project's client: that is tested separately)."""

    def __init__(self, server: MailchimpEmulatorServer) -> None:
        self.server = server
        self.url = server.url
        self.api_url = server.api_url
        self.api_key = server.api_key
        self.list_id = server.list_id
        self.dc = server.api_key.rpartition("-")[2]
        self.base = server.api_url.format(dc=self.dc)
        self.session = requests.Session()
        self.session.auth = ("anystring", server.api_key)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` is relative to `/3.0` (e.g. `/ping`)."""
        return self.session.request(method, self.base + path, timeout=30, **kwargs)

    def members_path(self, member_hash: str | None = None) -> str:
        path = f"/lists/{self.list_id}/members"
        return f"{path}/{member_hash}" if member_hash else path

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """`path` under `/_emulator/` (e.g. `stats`)."""
        return requests.request(method, f"{self.url}/_emulator/{path}", timeout=30, **kwargs)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "stats").json()

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        response = self.control("POST", "faults", json=settings)
        response.raise_for_status()
        return response.json()

    def self_unsubscribe(self, member_hash: str) -> requests.Response:
        return self.control("POST", f"lists/{self.list_id}/members/{member_hash}/unsubscribe")

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def mailchimp_emulator_factory() -> Iterator[Callable[..., MailchimpEmulatorServer]]:
    started: list[MailchimpEmulatorServer] = []

    def factory(**kwargs: Any) -> MailchimpEmulatorServer:
        server = build_server(**kwargs).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def mailchimp_emulator(
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
) -> MailchimpEmulatorServer:
    return mailchimp_emulator_factory(seed=7, batch_step_seconds=TEST_BATCH_STEP_SECONDS)


@pytest.fixture
def mailchimp_api(mailchimp_emulator: MailchimpEmulatorServer) -> Iterator[MailchimpApi]:
    api = MailchimpApi(mailchimp_emulator)
    yield api
    api.close()

"""Helpers for the client tests: talk to the emulator's control endpoints and read state back over HTTP.

Everything here goes over real HTTP to the emulator the conftest starts; nothing is mocked.
"""

from __future__ import annotations

from typing import Any

import requests

from jde_mc_pipeline.mailchimp.client import MailchimpClient, RetryPolicy

API_KEY = "0123456789abcdef0123456789abcdef-us7"
LIST_ID = "a1b2c3d4e5"
STORE_ID = "jde-e1"
FAST_RETRY = RetryPolicy(max_attempts=12, max_total_s=60.0, base_wait_s=0.02, max_wait_s=0.5)


def start(factory: Any, **options: Any) -> Any:
    """An emulator with the test key and list (extra build_server options passed through)."""
    options.setdefault("batch_step_seconds", 0.02)
    return factory(api_key=API_KEY, list_id=LIST_ID, seed=7, **options)


def client_for(server: Any, **options: Any) -> MailchimpClient:
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("timeout", (5.0, 10.0))
    return MailchimpClient(API_KEY, api_url=f"{server.url}/{{dc}}/3.0", **options)


def control(server: Any, method: str, path: str, body: Any = None) -> Any:
    reply = requests.request(method, f"{server.url}/_emulator{path}", json=body, timeout=10)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def stats(server: Any) -> dict[str, Any]:
    return control(server, "GET", "/stats")


def faults(server: Any, **settings: Any) -> None:
    control(server, "POST", "/faults", settings)


def api(server: Any, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    """A plain authenticated call (path relative to /3.0) with the server's own key, independent of the
    client under test."""
    dc = server.api_key.rpartition("-")[2]
    return requests.request(
        method,
        server.api_url.format(dc=dc) + path,
        json=body,
        params=params,
        auth=("test", server.api_key),
        timeout=30,
    )


def member(server: Any, subscriber_hash: str) -> dict[str, Any] | None:
    reply = api(server, "GET", f"/lists/{server.list_id}/members/{subscriber_hash}")
    return reply.json() if reply.status_code == 200 else None


def all_members(server: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = api(server, "GET", f"/lists/{server.list_id}/members", count=1000, offset=len(found)).json()
        found.extend(page["members"])
        if not page["members"] or len(found) >= page["total_items"]:
            return found


def all_customers(server: Any, store_id: str = STORE_ID) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = api(
            server, "GET", f"/ecommerce/stores/{store_id}/customers", count=1000, offset=len(found)
        ).json()
        found.extend(page["customers"])
        if not page["customers"] or len(found) >= page["total_items"]:
            return found


def tag_names(server: Any, subscriber_hash: str) -> set[str]:
    reply = api(server, "GET", f"/lists/{server.list_id}/members/{subscriber_hash}/tags", count=1000)
    return {t["name"] for t in reply.json()["tags"]}

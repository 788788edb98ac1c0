"""Helpers of the sync tests: plain HTTP to the emulators (independent of the clients under test)."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.jde.emulator.formats import to_julian


def api(server: Any, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    """An authenticated Mailchimp API call (path relative to /3.0)."""
    dc = server.api_key.rpartition("-")[2]
    return requests.request(
        method,
        server.api_url.format(dc=dc) + path,
        json=body,
        params=params,
        auth=("test", server.api_key),
        timeout=30,
    )


def member(server: Any, member_hash: str) -> dict[str, Any] | None:
    reply = api(server, "GET", f"/lists/{server.list_id}/members/{member_hash}")
    return reply.json() if reply.status_code == 200 else None


def customer(server: Any, customer_id: str, store_id: str = "jde-e1") -> dict[str, Any] | None:
    reply = api(server, "GET", f"/ecommerce/stores/{store_id}/customers/{customer_id}")
    return reply.json() if reply.status_code == 200 else None


def all_members(server: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = api(server, "GET", f"/lists/{server.list_id}/members", count=1000, offset=len(found)).json()
        found.extend(page["members"])
        if not page["members"] or len(found) >= page["total_items"]:
            return found


def tag_names(server: Any, member_hash: str) -> set[str]:
    reply = api(server, "GET", f"/lists/{server.list_id}/members/{member_hash}/tags", count=1000)
    return {t["name"] for t in reply.json()["tags"]}


def control(server: Any, method: str, path: str, body: Any = None) -> Any:
    reply = requests.request(method, f"{server.url}/_emulator/{path}", json=body, timeout=30)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def write_requests(server: Any) -> int:
    """API requests other than GET the emulator has answered so far (control endpoints excluded)."""
    stats = control(server, "GET", "stats")
    return sum(
        sum(by_status.values())
        for endpoint, by_status in stats["requests"].items()
        if not endpoint.startswith("GET ") and "_emulator" not in endpoint
    )


def jde_upsert(jde_url: str, table: str, rows: list[dict[str, Any]]) -> None:
    reply = requests.post(f"{jde_url}/_emulator/tables/{table}/rows", json=rows, timeout=30)
    reply.raise_for_status()


def stamp(day: date, hhmmss: int) -> dict[str, int]:
    return {"UPMJ": to_julian(day), "UPMT": hhmmss}


def prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + k: v for k, v in row.items()}


def rows(store: AuditStore, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with store.connect() as conn:
        return conn.execute(sql, params or []).fetchall()

"""Helpers of the sync tests: plain HTTP to the emulators (independent of the clients under test)."""

from __future__ import annotations

from datetime import date
from typing import Any

import requests

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline_tests.mailchimp.client_support import all_members, api, member, tag_names

__all__ = ["all_members", "api", "member", "tag_names"]


def customer(server: Any, customer_id: str, store_id: str = "jde-e1") -> dict[str, Any] | None:
    reply = api(server, "GET", f"/ecommerce/stores/{store_id}/customers/{customer_id}")
    return reply.json() if reply.status_code == 200 else None


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


def jde_delete(jde_url: str, table: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
    """Delete rows by primary key (database column names), as a JDE purge does: no trace is left."""
    reply = requests.delete(f"{jde_url}/_emulator/tables/{table}/rows", json=keys, timeout=30)
    reply.raise_for_status()
    return reply.json()


def stamp(day: date, hhmmss: int) -> dict[str, int]:
    return {"UPMJ": to_julian(day), "UPMT": hhmmss}


def prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + k: v for k, v in row.items()}


def rows(store: AuditStore, sql: str, params: list[Any] | None = None) -> list[tuple]:
    with store.connect() as conn:
        return conn.execute(sql, params or []).fetchall()

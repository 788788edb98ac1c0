"""The emulator's own endpoints under `/_emulator/` (docs/emulators.md): no token, never faulted.

- `POST /_emulator/tables/{TABLE}/rows`: JSON list of rows with database column names (`ABAN8`, …),
  upserted by primary key (a partial row updates only the columns it gives), UPMJ/UPMT stamped with the
  clock unless given. Answers `{"table", "inserted", "updated", "upmj", "upmt"}` (the stamp used);
  400 names the bad row and column, 404 an unknown table.
- `DELETE /_emulator/tables/{TABLE}/rows`: JSON list of primary keys, each an object of exactly the key
  columns (`{"ABAN8": 4242}`), deleted without a trace (no stamp on other rows); a key matching no row is
  a no-op, counted. Answers `{"table", "deleted", "not_found"}`; all or nothing like the upsert: 400 names
  the bad row and column, 404 an unknown table.
- `GET /_emulator/rows/{TABLE}`: `{"table", "rows": [...]}` in database form (debugging).
- `POST /_emulator/tokens/expire`: every token gone → `{"expired": n}`.
- `POST /_emulator/resultsets/expire`: every paging result set gone (next → JAS_MSG347) → `{"expired": n}`.
- `GET|POST /_emulator/faults`: read or change `{"fault_rate", "latency_ms", "fault_kinds":
  ["error", "drop", "revoke"], "require_cookie": bool}`; unknown keys or bad values → 400.
- `GET /_emulator/stats`: requests by endpoint and status plus counters (tokens_issued, responses_444,
  logouts, pages_served, next_pages_served, rows_served, result_sets_expired, faults_<kind>,
  connections_dropped, churn_rounds, churn_rows), tokens_active, result_sets_open and rows per table.
  `POST /_emulator/stats/reset` starts counting afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from jde_mc_pipeline.emulators.ais.dataservice import DataService
from jde_mc_pipeline.emulators.ais.formats import to_hhmmss, to_julian
from jde_mc_pipeline.emulators.ais.store import RowError, Store
from jde_mc_pipeline.emulators.ais.tokens import TokenRegistry
from jde_mc_pipeline.emulators.controls import Faults, RequestStats
from jde_mc_pipeline.emulators.http import Request, Response
from jde_mc_pipeline.jde.tables import SERVED

FAULT_KINDS = ("error", "drop", "revoke")
_FAULT_KEYS = {"fault_rate", "latency_ms", "fault_kinds", "require_cookie"}


class ControlledAis(Protocol):
    """What the control routes use of the app (`AisApp`, which imports this module)."""

    store: Store
    tokens: TokenRegistry
    dataservice: DataService
    faults: Faults
    stats: RequestStats
    clock: Callable[[], datetime]


class ControlRoutes:
    """Handles `/_emulator/...` for one app."""

    def __init__(self, app: ControlledAis) -> None:
        self._app = app

    def __call__(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")[1:]
        method = request.method
        try:
            if method == "POST" and len(parts) == 3 and parts[0] == "tables" and parts[2] == "rows":
                return self._upsert(parts[1], request)
            if method == "DELETE" and len(parts) == 3 and parts[0] == "tables" and parts[2] == "rows":
                return self._delete(parts[1], request)
            if method == "GET" and len(parts) == 2 and parts[0] == "rows":
                return self._rows(parts[1])
            if method == "POST" and parts == ["tokens", "expire"]:
                return Response.json(200, {"expired": self._app.tokens.expire_all()})
            if method == "POST" and parts == ["resultsets", "expire"]:
                return Response.json(200, {"expired": self._app.dataservice.expire_all()})
            if parts == ["faults"] and method in ("GET", "POST"):
                return (
                    self._faults(request)
                    if method == "POST"
                    else Response.json(200, self._app.faults.snapshot())
                )
            if method == "GET" and parts == ["stats"]:
                return Response.json(200, self._stats())
            if method == "POST" and parts == ["stats", "reset"]:
                self._app.stats.reset()
                return Response.json(200, {"reset": True})
        except (ValueError, RowError) as error:
            return Response.json(400, {"error": str(error)})
        return Response.json(404, {"error": f"no emulator control at {method} {request.path}"})

    def _upsert(self, table_name: str, request: Request) -> Response:
        if table_name.upper() not in SERVED:
            return Response.json(404, {"error": f"unknown table {table_name!r}; known: {', '.join(SERVED)}"})
        rows = _json(request)
        if not isinstance(rows, list):
            raise ValueError("expected a JSON list of rows")
        now = self._app.clock()
        counts = self._app.store.upsert(table_name, rows, stamp=True, strict=True)
        body = {"table": table_name.upper(), **counts, "upmj": to_julian(now.date()), "upmt": to_hhmmss(now)}
        return Response.json(200, body)

    def _delete(self, table_name: str, request: Request) -> Response:
        if table_name.upper() not in SERVED:
            return Response.json(404, {"error": f"unknown table {table_name!r}; known: {', '.join(SERVED)}"})
        keys = _json(request)
        if not isinstance(keys, list):
            raise ValueError('expected a JSON list of primary keys such as [{"ABAN8": 4242}]')
        counts = self._app.store.delete(table_name, keys)
        return Response.json(200, {"table": table_name.upper(), **counts})

    def _rows(self, table_name: str) -> Response:
        if table_name.upper() not in SERVED:
            return Response.json(404, {"error": f"unknown table {table_name!r}; known: {', '.join(SERVED)}"})
        store = self._app.store
        return Response.json(
            200, {"table": table_name.upper(), "rows": store.as_dicts(table_name, store.scan(table_name))}
        )

    def _faults(self, request: Request) -> Response:
        settings = _json(request)
        if not isinstance(settings, dict):
            raise ValueError('expected a JSON object such as {"fault_rate": 0.1, "latency_ms": 50}')
        unknown = set(settings) - _FAULT_KEYS
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(_FAULT_KEYS)}")
        kinds = settings.get("fault_kinds", list(FAULT_KINDS))
        if not isinstance(kinds, list) or not kinds or any(kind not in FAULT_KINDS for kind in kinds):
            raise ValueError(f"fault_kinds must be a non-empty list drawn from {list(FAULT_KINDS)}")
        if not isinstance(settings.get("require_cookie", False), bool):
            raise ValueError("require_cookie must be true or false")
        return Response.json(200, self._app.faults.update(settings))

    def _stats(self) -> dict[str, Any]:
        app = self._app
        return {
            **app.stats.snapshot(),
            "tokens_active": app.tokens.active(),
            "result_sets_open": app.dataservice.open_result_sets(),
            "rows": app.store.counts(),
        }


def _json(request: Request) -> Any:
    try:
        return request.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"malformed JSON body: {error}") from None

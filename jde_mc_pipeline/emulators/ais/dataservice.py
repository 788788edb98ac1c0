"""`POST /jderest/v2/dataservice` (BROWSE, COUNT) and `POST /jderest/v2/dataservice/next` paging.

Answers follow docs/ais.md, The data service and Paging: `fs_DATABROWSE_<TABLE>` → `title`, `data.gridData`
→ `id`, `fullGridId`, `columns`, `rowset`, `summary{records, moreRecords}`, row keys `F0101_AN8`,
and a top-level `links[{rel: "next", href}]` only when `enableNextPageProcessing` is on and rows remain.

Design decisions for [UNCONFIRMED] behaviour:
- **COUNT** answers the same envelope with an empty `rowset` and `summary.records` = the number of
  matching rows (`moreRecords: false`); `columns` lists the requested columns.
- `maxPageSize`: a positive whole number (string or number); omitted → 100; `"No Max"` (any case) →
  unlimited. Anything else is a 400.
- Only `targetType: "table"` over the six catalogue tables, `outputType` GRID_DATA (or omitted) and
  BROWSE/COUNT are served; views, AGGREGATION and other output types get a 400 naming the limit.
- `returnControlIDs` omitted → every catalogue column; an unknown or foreign column → 400.
- Paging keeps a snapshot of the matching rows taken at query time (later upserts do not move pages),
  bound to the token that ran the query. An idle result set (no page fetched for `result_set_ttl`
  seconds), one whose session logged out, or a `next` call from another token → HTTP 500 JAS_MSG347.
- The `next` URL's `token` query parameter wins over the auth headers (the `href` is the documented
  carrier); `deviceName` may be omitted there. GET on `next` is not served (only POST is documented).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from jde_mc_pipeline.emulators.ais.query import QueryContext, QueryError, compile_query, order_by, sort_rows
from jde_mc_pipeline.emulators.ais.store import Row, Store, position
from jde_mc_pipeline.emulators.ais.tokens import Session
from jde_mc_pipeline.emulators.ais.values import yyyymmdd
from jde_mc_pipeline.emulators.controls import RequestStats
from jde_mc_pipeline.jde.tables import SERVED, Table

DEFAULT_PAGE_SIZE = 100
GRID_ID = 1

Field = tuple[str, int, bool]  # answer key (F0101_AN8), position in a stored row, is a date


@dataclass
class _ResultSet:
    rid: str
    stack_id: int
    token: str
    spec: Table
    fields: list[Field]
    return_ids: str
    rows: list[Row]
    position: int
    page_size: int
    last_used: datetime
    pages: int = 1


class DataService:
    """Runs data requests over the store and keeps the result sets of paged queries."""

    def __init__(
        self, store: Store, stats: RequestStats, clock: Callable[[], datetime], result_set_ttl: float
    ):
        self._store = store
        self._stats = stats
        self._clock = clock
        self.result_set_ttl = result_set_ttl
        self._lock = threading.Lock()
        self._result_sets: dict[str, _ResultSet] = {}
        self._stack_ids = 0

    def run(self, request: dict[str, Any], session: Session, base_url: str, simple_date_format: str) -> dict:
        """Answer one data request; QueryError (a 400) when it cannot run."""
        spec = _target(request)
        service = str(request.get("dataServiceType") or "BROWSE").upper()
        if service not in ("BROWSE", "COUNT"):
            raise QueryError(
                f"dataServiceType {request.get('dataServiceType')!r} is not served (BROWSE, COUNT)"
            )
        output = str(request.get("outputType") or "GRID_DATA").upper()
        if output != "GRID_DATA":
            raise QueryError(f"outputType {request.get('outputType')!r} is not served (GRID_DATA only)")
        fields, return_ids = _fields(spec, request.get("returnControlIDs"))
        page_size = _page_size(request.get("maxPageSize", DEFAULT_PAGE_SIZE))
        paging = _flag(request.get("enableNextPageProcessing"), "enableNextPageProcessing")
        now = self._clock()
        context = QueryContext(simple_date_format, now.date(), session.username)
        plan = compile_query(spec, request.get("query"), context)
        order = order_by(spec, request)
        self._sweep(now)

        if plan.an8s is not None:
            rows = self._store.for_an8s(spec.name, plan.an8s)
        elif plan.an8_range is not None and spec.key[0] == "AN8":
            rows = self._store.an8_range(spec.name, *plan.an8_range)
        else:
            rows = self._store.scan(spec.name)
        if plan.predicate is not None:
            predicate = plan.predicate
            rows = [row for row in rows if predicate(row)]
        if order and order != [(position(spec, alias), False) for alias in spec.key]:
            rows = sort_rows(rows, order)  # the store's rows are in key order already
        if service == "COUNT":
            return _envelope(spec, fields, [], len(rows), more=False)

        size = len(rows) if page_size is None else page_size
        more = len(rows) > size
        document = _envelope(spec, fields, rows[:size], len(rows[:size]), more)
        self._stats.incr("pages_served")
        self._stats.incr("rows_served", min(size, len(rows)))
        if more and paging:
            result_set = self._keep(spec, session, fields, return_ids, rows, size, now)
            document["links"] = [_link(base_url, result_set)]
        return document

    def next_page(self, rid: str | None, session: Session, base_url: str) -> dict:
        """The next page of a kept result set; AisError-worthy states raise KeyError (JAS_MSG347)."""
        now = self._clock()
        self._sweep(now)
        with self._lock:
            result_set = self._result_sets.get(rid or "")
            if result_set is None or result_set.token != session.token:
                raise KeyError(rid)
            start = result_set.position
            end = start + result_set.page_size
            result_set.position = end
            result_set.last_used = now
            result_set.pages += 1
            more = end < len(result_set.rows)
            if not more:
                del self._result_sets[result_set.rid]
        page = result_set.rows[start:end]
        document = _envelope(result_set.spec, result_set.fields, page, len(page), more)
        self._stats.incr("pages_served")
        self._stats.incr("next_pages_served")
        self._stats.incr("rows_served", len(page))
        if more:
            document["links"] = [_link(base_url, result_set)]
        return document

    def forget_token(self, token: str) -> None:
        """Close the result sets of a session that ended."""
        with self._lock:
            for rid in [r.rid for r in self._result_sets.values() if r.token == token]:
                del self._result_sets[rid]

    def expire_all(self) -> int:
        """Expire every open result set (control endpoint); returns how many."""
        with self._lock:
            count = len(self._result_sets)
            self._result_sets.clear()
        self._stats.incr("result_sets_expired", count)
        return count

    def open_result_sets(self) -> int:
        """Result sets still open."""
        with self._lock:
            return len(self._result_sets)

    def _keep(
        self,
        spec: Table,
        session: Session,
        fields: list[Field],
        return_ids: str,
        rows: list[Row],
        size: int,
        now: datetime,
    ) -> _ResultSet:
        with self._lock:
            self._stack_ids += 1
            result_set = _ResultSet(
                secrets.token_hex(8)[:15],
                self._stack_ids,
                session.token,
                spec,
                fields,
                return_ids,
                rows,
                size,
                size,
                now,
            )
            self._result_sets[result_set.rid] = result_set
            return result_set

    def _sweep(self, now: datetime) -> None:
        with self._lock:
            stale = [
                r.rid
                for r in self._result_sets.values()
                if (now - r.last_used).total_seconds() > self.result_set_ttl
            ]
            for rid in stale:
                del self._result_sets[rid]
        if stale:
            self._stats.incr("result_sets_expired", len(stale))


def _target(request: dict[str, Any]) -> Table:
    target_type = str(request.get("targetType") or "").lower()
    name = str(request.get("targetName") or "").upper()
    if target_type == "view":
        raise QueryError(f"targetType 'view' ({name}) is not served by the emulator; query the tables")
    if target_type != "table":
        raise QueryError(f"targetType must be 'table', not {request.get('targetType')!r}")
    if name not in SERVED:
        raise QueryError(f"table {request.get('targetName')!r} not found; served: {', '.join(SERVED)}")
    return SERVED[name]


def _fields(spec: Table, return_ids: Any) -> tuple[list[Field], str]:
    if return_ids is None or return_ids == "":
        aliases = list(spec.aliases)
    else:
        if not isinstance(return_ids, str):
            raise QueryError("returnControlIDs must be a pipe-separated string such as F0101.AN8|F0101.ALPH")
        aliases = []
        for control_id in return_ids.split("|"):
            table_name, _, alias = control_id.strip().partition(".")
            if table_name.upper() != spec.name or not alias:
                raise QueryError(f"returnControlIDs: {control_id!r} is not a column of {spec.name}")
            try:
                aliases.append(spec.column(alias.upper()).alias)
            except KeyError:
                raise QueryError(f"returnControlIDs: {spec.name} has no column {alias!r}") from None
    fields = [(spec.output_key(a), position(spec, a), spec.column(a).kind == "date") for a in aliases]
    return fields, "|".join(spec.control_id(a) for a in aliases)


def _page_size(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lower() == "no max":
        return None
    try:
        size = int(value) if not isinstance(value, bool | float) else None
    except (TypeError, ValueError):
        size = None
    if size is None or size <= 0:
        raise QueryError(f"maxPageSize must be a positive whole number or 'No Max', not {value!r}")
    return size


def _flag(value: Any, name: str) -> bool:
    if value is None or value is False or (isinstance(value, str) and value.lower() == "false"):
        return False
    if value is True or (isinstance(value, str) and value.lower() == "true"):
        return True
    raise QueryError(f"{name} must be true or false, not {value!r}")


def _envelope(spec: Table, fields: list[Field], rows: list[Row], records: int, more: bool) -> dict:
    rowset = [
        {key: (yyyymmdd(row[db]) if is_date else row[db]) for key, db, is_date in fields} for row in rows
    ]
    columns = {key: spec.column(key.split("_", 1)[1]).title for key, _, _ in fields}
    grid = {
        "id": GRID_ID,
        "fullGridId": str(GRID_ID),
        "columns": columns,
        "rowset": rowset,
        "summary": {"records": records, "moreRecords": more},
    }
    return {
        f"fs_DATABROWSE_{spec.name}": {
            "title": f"Data Browser - {spec.name} [{spec.title}]",
            "data": {"gridData": grid},
        }
    }


def _link(base_url: str, result_set: _ResultSet) -> dict[str, str]:
    query = (
        f"stackId={result_set.stack_id}&stateId={result_set.pages}&rid={result_set.rid}&fullGridId={GRID_ID}"
        f"&formOID={result_set.spec.name}&token={quote(result_set.token, safe='')}&outputType=GRID_DATA"
        f"&returnControlIDs={quote(result_set.return_ids, safe='|.')}"
    )
    return {"rel": "next", "href": f"{base_url}/jderest/v2/dataservice/next?{query}"}

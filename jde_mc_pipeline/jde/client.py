"""`AisClient`: typed table reads over the AIS data service (docs/ais.md).

One `with AisClient(...) as client:` block is one polling cycle: a fresh token at the start, reused by
every call inside, and a logout at the end, also when the block fails (sessions hold server memory).

Paging follows `links.next`. The href is rebased onto the configured base URL, because AIS writes
its own idea of its host there and behind a proxy that is an internal name, and its `token`
parameter is dropped in favour of the auth header (see session.py). Reads are ordered by the table key
ascending, which makes every recovery exact:
- a 444 (or 403) anywhere re-authenticates once; on a first page the same request is sent again (a
  fresh token rejected again re-authenticates again, at most `RetryPolicy.max_attempts` times in a row,
  then `AisAuthError`: a systematic refusal, e.g. a proxy dropping cookies, must not loop forever);
- in the middle of paging, a 444, an expired result set (HTTP 500 JAS_MSG347) or a failed next page
  re-runs the query from the last key seen (`AN8 GREATER_EQUAL last`, keyset paging), and rows whose full
  key was already delivered are skipped. Nothing is lost (all keys below `last` were read completely) and
  nothing is duplicated. Rows inserted behind the cursor meanwhile belong to the next window anyway.
A caller-chosen order cannot resume by key: the query is re-run from the start and every key delivered
so far is skipped. Resumes that make no progress are bounded by the retry policy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from jde_mc_pipeline.jde.errors import AisAuthError, AisProtocolError, AisServerError
from jde_mc_pipeline.jde.frames import FrameBuilder
from jde_mc_pipeline.jde.query import Condition, Query
from jde_mc_pipeline.jde.session import (
    AisSession,
    ClientStats,
    ResultSetExpired,
    RetryPolicy,
    TokenRejected,
)
from jde_mc_pipeline.jde.tables import Table
from jde_mc_pipeline.jde.tables import table as catalogue_table

log = logging.getLogger(__name__)

DATASERVICE_PATH = "/jderest/v2/dataservice"
OrderBy = Sequence[str | tuple[str, str]]
"""Columns to order by: `"AN8"` (ascending) or `("UPMJ", "DESC")`."""


class _Resume(Exception):  # noqa: N818 - control flow inside the pager
    """The current paging position is lost: re-run the query from the last key."""


class AisClient:
    """Reads JDE tables through AIS as typed frames (see frames.py for the types)."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        environment: str | None = None,
        role: str = "*ALL",
        device_name: str = "jde-mc-pipeline",
        timezone: str = "UTC",
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        page_size: int = 1000,
        list_chunk_size: int = 500,
        retry: RetryPolicy | None = None,
        read_sessions: int = 1,
    ) -> None:
        if page_size < 1 or list_chunk_size < 1 or read_sessions < 1:
            raise ValueError("page_size, list_chunk_size and read_sessions must be at least 1")
        self._settings: dict[str, Any] = {
            "base_url": base_url,
            "username": username,
            "password": password,
            "environment": environment,
            "role": role,
            "device_name": device_name,
            "timezone": timezone,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "page_size": page_size,
            "list_chunk_size": list_chunk_size,
            "retry": retry,
        }
        self.read_sessions = read_sessions
        """AIS sessions that may read whole tables at once (the initial load; extract.py)."""
        ZoneInfo(timezone)  # an unknown JDE_TIMEZONE fails here, not after a whole extraction
        self.timezone = timezone
        self.page_size = page_size
        self.list_chunk_size = list_chunk_size
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self.on_page: Callable[[str, int], None] | None = None
        """Called with (table, rows) after every page: progress for a terminal or a run's log."""
        self.on_demand: dict[str, tuple[str, ...]] = {}
        """Table → its on-demand columns (jde/tables.py) that reads of every column fetch too: the
        category codes the segment fields name (set by the sync, `segments.on_demand_columns`)."""
        self._session = AisSession(
            base_url,
            username,
            password,
            environment=environment,
            role=role,
            device_name=device_name,
            timeout=(connect_timeout, read_timeout),
            retry=self.retry,
            stats=self.stats,
        )

    # --- polling cycle ---------------------------------------------------------------------------------

    def __enter__(self) -> AisClient:
        self.login()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.logout()

    def sibling(self) -> AisClient:
        """A client with the same settings and its own AIS session (token, result sets, connection pool),
        to read other tables at the same time; its `stats` are its own (see `ClientStats.add`)."""
        sibling = AisClient(**self._settings)
        sibling.on_page = self.on_page
        sibling.on_demand = self.on_demand
        return sibling

    def login(self) -> None:
        """Start a polling cycle with a fresh token."""
        self._session.login()

    def logout(self) -> None:
        """End the cycle's AIS session (never raises)."""
        self._session.logout()

    def close(self) -> None:
        """Log out and release the connection pool (a client can serve many cycles before that)."""
        self._session.close()

    @property
    def base_url(self) -> str:
        return self._session.base_url

    @property
    def date_pattern(self) -> str | None:
        """The user's `simpleDateFormat` from the token response (None before login)."""
        return self._session.date_pattern

    # --- reads -----------------------------------------------------------------------------------------

    def browse(
        self,
        table: str,
        where: Query | Sequence[Condition] | None = None,
        columns: Sequence[str] | None = None,
        order_by: OrderBy | None = None,
    ) -> pd.DataFrame:
        """Every row of `table` matching `where`, as a typed frame.

        `columns` None means every catalogue column; the key columns are always read (and returned) as
        they make paging recoverable. `order_by` None means the key ascending.
        """
        spec = catalogue_table(table)
        builder = FrameBuilder(spec, _with_key(spec, columns, self.on_demand.get(spec.name, ())))
        for rows in self.iter_pages(spec.name, where, columns, order_by):
            builder.add(rows)
        return builder.build(self.timezone)

    def browse_an8s(
        self,
        table: str,
        an8s: Iterable[int],
        columns: Sequence[str] | None = None,
        where: Query | Sequence[Condition] | None = None,
        chunk_size: int | None = None,
    ) -> pd.DataFrame:
        """The rows of `table` for these address numbers: one `AN8 LIST` query per chunk of AN8s."""
        spec = catalogue_table(table)
        builder = FrameBuilder(spec, _with_key(spec, columns, self.on_demand.get(spec.name, ())))
        for chunk in chunked(sorted(set(an8s)), chunk_size or self.list_chunk_size):
            selection = _as_query(where).and_(Condition("AN8", "LIST", tuple(chunk)))
            for rows in self.iter_pages(spec.name, selection, columns):
                builder.add(rows)
        return builder.build(self.timezone)

    def first_page(
        self,
        table: str,
        where: Query | Sequence[Condition] | None,
        columns: Sequence[str],
        order_by: OrderBy,
        limit: int,
    ) -> tuple[pd.DataFrame, bool]:
        """At most `limit` rows in one call (no paging), and whether AIS had more: for cheap probes."""
        spec = catalogue_table(table)
        body = self._body(spec, _as_query(where), list(columns), order_by, limit, paging=False)
        doc = self._call(DATASERVICE_PATH, body, spec.name, next_page=False)
        rows, more, _ = _grid(doc, spec.name)
        self.stats.pages += 1
        self.stats.rows += len(rows)
        builder = FrameBuilder(spec, list(columns))
        builder.add(rows)
        return builder.build(self.timezone), more

    def iter_pages(
        self,
        table: str,
        where: Query | Sequence[Condition] | None = None,
        columns: Sequence[str] | None = None,
        order_by: OrderBy | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """The raw GRID_DATA rows page by page, each row delivered exactly once (see the module doc)."""
        spec = catalogue_table(table)
        query = _as_query(where)
        aliases = _with_key(spec, columns, self.on_demand.get(spec.name, ()))
        key_order = [(alias, "ASC") for alias in spec.key]
        order = key_order if order_by is None else [_order(o) for o in order_by]
        keyset = order[: len(key_order)] == key_order
        key_fields = [spec.output_key(alias) for alias in spec.key]
        lead: Any = None  # keyset: the leading key value (AN8) of the last row delivered
        lead_keys: set[tuple[Any, ...]] = set()  # keyset: the full keys delivered with that AN8
        delivered: set[tuple[Any, ...]] = set()  # other orders: every key delivered
        stalled = 0

        def first_request() -> dict[str, Any]:
            resumed = (
                query.and_(Condition(spec.key[0], "GREATER_EQUAL", (lead,)))
                if keyset and lead is not None
                else query
            )
            return self._body(spec, resumed, aliases, order, self.page_size, paging=True)

        url, body = DATASERVICE_PATH, first_request()
        while True:
            try:
                doc = self._call(url, body, spec.name, next_page=url != DATASERVICE_PATH)
            except _Resume as reason:
                stalled += 1
                if stalled > self.retry.max_attempts:
                    raise AisServerError(
                        f"AIS paging of {spec.name} keeps failing without progress: {reason}", table=spec.name
                    ) from None
                self.stats.restarts += 1
                log.info("re-running the %s query from %s=%s: %s", spec.name, spec.key[0], lead, reason)
                url, body = DATASERVICE_PATH, first_request()
                continue
            rows, more, href = _grid(doc, spec.name)
            fresh = []
            for row in rows:
                key = tuple(row.get(f) for f in key_fields)
                if keyset:
                    if key[0] != lead:
                        if lead is not None and key[0] < lead:
                            raise AisProtocolError(
                                f"AIS ignored the key order of {spec.name}", table=spec.name
                            )
                        lead, lead_keys = key[0], set()
                    elif key in lead_keys:
                        continue
                    lead_keys.add(key)
                elif key in delivered:
                    continue
                else:
                    delivered.add(key)
                fresh.append(row)
            self.stats.pages += 1
            self.stats.rows += len(fresh)
            if self.on_page is not None:
                self.on_page(spec.name, len(fresh))
            if fresh:
                stalled = 0
                yield fresh
            if href:
                url, body = self._next_url(href), {}
            elif more and keyset and fresh:  # more rows but no link: continue by key ourselves
                url, body = DATASERVICE_PATH, first_request()
            elif more:
                raise AisProtocolError(
                    f"AIS reported more {spec.name} rows but gave no next-page link", table=spec.name
                )
            else:
                return

    # --- plumbing --------------------------------------------------------------------------------------

    def _call(self, path_or_url: str, body: dict[str, Any], table: str, *, next_page: bool) -> dict[str, Any]:
        """One data call with the token recovery of the module doc; next-page failures raise `_Resume`."""
        url = path_or_url if next_page else self._session.url(path_or_url)
        if not self._session.has_token:
            self._session.login()
        rejected_tokens = 0
        while True:
            try:
                return self._session.data_call(url, body, table=table, retry=not next_page)
            except TokenRejected as rejected:
                rejected_tokens += 1
                if rejected_tokens > self.retry.max_attempts:
                    raise AisAuthError(
                        f"AIS rejected {rejected_tokens} tokens in a row on table {table}: {rejected}",
                        status=rejected.status,
                        table=table,
                    ) from None
                self.stats.reauths += 1
                self._session.login()
                if next_page:
                    raise _Resume(f"token rejected ({rejected})") from None
            except ResultSetExpired as expired:
                if next_page:
                    raise _Resume(str(expired)) from None
                raise AisServerError(
                    f"AIS data request on table {table} failed: {expired}", table=table
                ) from None
            except AisServerError as failed:
                if next_page:
                    raise _Resume(str(failed)) from None
                raise

    def _next_url(self, href: str) -> str:
        """The next-page href on the configured base URL, without its `token` query parameter."""
        start = href.find("/jderest/")
        if start < 0:
            raise AisProtocolError("a next-page link does not point into /jderest/")
        path, _, query = href[start:].partition("?")
        kept = [part for part in query.split("&") if part and not part.startswith("token=")]
        return self._session.url(path + ("?" + "&".join(kept) if kept else ""))

    def _body(
        self,
        spec: Table,
        query: Query,
        aliases: Sequence[str],
        order: OrderBy,
        page_size: int,
        *,
        paging: bool,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "targetName": spec.name,
            "targetType": "table",
            "dataServiceType": "BROWSE",
            "outputType": "GRID_DATA",
            "returnControlIDs": "|".join(spec.control_id(alias) for alias in aliases),
            "maxPageSize": str(page_size),
            "enableNextPageProcessing": paging,
        }
        query_json = query.to_json(spec.name, self._session.date_pattern)
        if query_json is not None:
            body["query"] = query_json
        body["aggregation"] = {
            "orderBy": [
                {"column": spec.control_id(alias), "direction": direction}
                for alias, direction in map(_order, order)
            ]
        }
        return body


def chunked(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """Consecutive slices of at most `size` values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _with_key(spec: Table, columns: Sequence[str] | None, on_demand: Sequence[str] = ()) -> list[str]:
    if columns is None:
        return list(spec.read_aliases(on_demand))
    for alias in columns:
        spec.column(alias)  # KeyError naming the table for an unknown column
    return list(columns) + [alias for alias in spec.key if alias not in columns]


def _as_query(where: Query | Sequence[Condition] | None) -> Query:
    if where is None:
        return Query.all_of()
    if isinstance(where, Query):
        return where
    return Query.all_of(*where)


def _order(item: str | tuple[str, str]) -> tuple[str, str]:
    alias, direction = (item, "ASC") if isinstance(item, str) else item
    if direction not in ("ASC", "DESC"):
        raise ValueError(f"order direction must be ASC or DESC, not {direction!r}")
    return alias, direction


def _grid(doc: dict[str, Any], table: str) -> tuple[list[dict[str, Any]], bool, str | None]:
    """Rows, `moreRecords` and the next-page href of a BROWSE answer; unknown top-level keys ignored.

    The envelope must be this table's (`fs_DATABROWSE_<table>`, in any case) and hold a `rowset` list of
    objects: an envelope of another table, or a grid without its rowset, would otherwise read as rows
    without keys or as an empty table, and the parties in it would vanish without an error.
    """
    wanted = f"fs_DATABROWSE_{table}"
    envelope = doc.get(wanted)
    if envelope is None:
        envelope = next((v for k, v in doc.items() if k.upper() == wanted.upper()), None)
    grid = envelope.get("data") if isinstance(envelope, dict) else None
    grid = grid.get("gridData") if isinstance(grid, dict) else None
    if not isinstance(grid, dict):
        raise AisProtocolError(
            f"AIS answer for {table} has no {wanted}.data.gridData (keys: {sorted(doc)[:8]})", table=table
        )
    rows = grid.get("rowset")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        what = "no rowset" if rows is None else "a rowset that is not a list of rows"
        raise AisProtocolError(f"AIS answer for {table} has {what} in {wanted}.data.gridData", table=table)
    summary = grid.get("summary")
    more = isinstance(summary, dict) and summary.get("moreRecords") in (True, "true", "TRUE")
    links = doc.get("links")
    href = next(
        (
            link.get("href")
            for link in (links if isinstance(links, list) else [])
            if isinstance(link, dict) and link.get("rel") == "next" and isinstance(link.get("href"), str)
        ),
        None,
    )
    return rows, more, href

"""Connections to the PostgreSQL audit database: one pool per URL and mode per process, URLs shown redacted.

Why pools: stores are created often (every step, every check opens one), and a PostgreSQL connection
costs a fork on the server and an authentication round trip; a `ConnectionPool` per (process, URL, mode)
is shared by every store of the process and closed at exit. The process id is part of the key because a
pool inherited through `fork` shares its sockets with the parent and must not be used by the child.

Why redaction everywhere: the URL carries the password. `redacted(url)` (`postgresql://user@host:port/db`)
is what metadata, logs, errors and the CLI show, and `AuditDatabaseError` replaces the driver's error texts
with one naming the redacted URL, the password cut out of whatever the driver said.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg.types.string import TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

POSTGRES_SCHEMES = ("postgresql", "postgres")
POOL_MAX_SIZE = 4
"""Connections one process holds at most per URL: the steps of a run write from one thread or a few."""
POOL_TIMEOUT_SECONDS = 30.0

_pools: dict[tuple[int, str, bool], ConnectionPool] = {}
_pools_lock = threading.Lock()


class AuditDatabaseError(RuntimeError):
    """The audit database cannot be reached or used; the text never holds the URL's password."""


def is_postgres_url(location: str) -> bool:
    """Whether an audit location names a PostgreSQL database rather than a DuckDB file."""
    return urlsplit(str(location)).scheme in POSTGRES_SCHEMES


def redacted(url: str) -> str:
    """`url` without its password (and without query options, which may carry one too)."""
    parts = urlsplit(url)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"


def scrubbed(text: str, url: str) -> str:
    """`text` with the URL's password (raw and percent-decoded) and the URL itself replaced."""
    text = text.replace(url, redacted(url))
    password = urlsplit(url).password
    for secret in {password, unquote(password)} if password else ():
        text = re.sub(re.escape(secret), "***", text)
    return text


def _configure(conn: psycopg.Connection) -> None:
    """Every connection answers in UTC and hands JSON back as text, as DuckDB does (callers parse it)."""
    conn.adapters.register_loader("json", TextLoader)
    conn.adapters.register_loader("jsonb", TextLoader)


def pool(url: str, *, read_only: bool) -> ConnectionPool:
    """The process's pool for `url` in this mode (created on first use)."""
    key = (os.getpid(), url, read_only)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            options = "-c timezone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
            kwargs = {"options": options, "application_name": "jde-mc audit"}
            _probe(url, kwargs)
            found = ConnectionPool(
                url,
                kwargs=kwargs,
                min_size=1,
                max_size=POOL_MAX_SIZE,
                timeout=POOL_TIMEOUT_SECONDS,
                configure=_configure,
                name=f"audit {redacted(url)}{' read-only' if read_only else ''}",
                open=False,
            )
            try:
                found.open(wait=True, timeout=POOL_TIMEOUT_SECONDS)
            except (PoolTimeout, psycopg.Error) as error:
                found.close()
                raise AuditDatabaseError(
                    f"cannot connect to the audit database {redacted(url)}: {scrubbed(str(error), url)}"
                ) from None
            _pools[key] = found
    return found


def _probe(url: str, kwargs: dict[str, str]) -> None:
    """One direct connection before the pool is made: a refused login or an unknown host is then said at
    once, in the server's words, instead of a pool retrying for `POOL_TIMEOUT_SECONDS`."""
    try:
        psycopg.connect(url, connect_timeout=int(POOL_TIMEOUT_SECONDS), **kwargs).close()
    except psycopg.Error as error:
        raise AuditDatabaseError(
            f"cannot connect to the audit database {redacted(url)}: {scrubbed(str(error), url)}"
        ) from None


@contextmanager
def connection(url: str, *, read_only: bool) -> Iterator[psycopg.Connection]:
    """A pooled connection, in a transaction committed at the end of the block (rolled back on error).

    A driver error leaves as `AuditDatabaseError` with the password cut out."""
    try:
        with pool(url, read_only=read_only).connection() as conn:
            yield conn
    except (PoolTimeout, psycopg.Error) as error:
        raise AuditDatabaseError(f"audit database {redacted(url)}: {scrubbed(str(error), url)}") from None


@atexit.register
def close_pools() -> None:
    """Close this process's pools (at exit; tests call it between servers)."""
    with _pools_lock:
        mine = [key for key in _pools if key[0] == os.getpid()]
        for key in mine:
            _pools.pop(key).close()

"""Builds and runs the AIS emulator: `build_server(...)` for tests, `main(options)` for `jde-mc emulate jde`.

Data comes from a CSV export folder (`data_dir`), from the demo generator (`demo=N`, deterministic
per `seed`, with today's date from the clock), or from nothing (an empty store, filled through
`POST /_emulator/tables/{TABLE}/rows`). Churn (`churn=(K, S)`) asks the demo module for K changed
parties every S seconds and upserts them with fresh UPMJ/UPMT stamps, as JDE users would.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jde_mc_pipeline.emulators.ais.app import AisApp, Identity
from jde_mc_pipeline.emulators.ais.clock import local_now
from jde_mc_pipeline.emulators.ais.csv_loader import CsvLoadError, read_export
from jde_mc_pipeline.emulators.ais.dataservice import DataService
from jde_mc_pipeline.emulators.ais.formats import to_hhmmss, to_julian
from jde_mc_pipeline.emulators.ais.store import RowError, Store
from jde_mc_pipeline.emulators.ais.tokens import TokenRegistry
from jde_mc_pipeline.emulators.controls import Faults, RequestStats
from jde_mc_pipeline.emulators.http import EmulatorServer
from jde_mc_pipeline.jde import tables

DEFAULT_DEMO_PARTIES = 1000


class JdeEmulatorServer(EmulatorServer):
    """An `EmulatorServer` that also owns the emulator's state and its churn thread.

    `app`, `store`, `clock` are exposed for tests that need to look behind the HTTP surface.
    """

    def __init__(self, app: AisApp, port: int, churn: tuple[int, float] | None, seed: int) -> None:
        super().__init__(app, port)
        self.app = app
        self.store = app.store
        self.clock = app.clock
        self._churn = churn
        self._seed = seed
        self._stop_churn = threading.Event()
        self._churn_thread: threading.Thread | None = None

    def start(self) -> JdeEmulatorServer:
        """Serve in a daemon thread (and churn, if configured)."""
        super().start()
        self._start_churn()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (and churn, if configured) until interrupted."""
        self._start_churn()
        try:
            super().serve_forever()
        finally:
            self._stop_churn.set()

    def stop(self) -> None:
        """Stop churn and serving."""
        self._stop_churn.set()
        super().stop()
        if self._churn_thread is not None:
            self._churn_thread.join(timeout=5)

    def churn_once(self, rng: random.Random, count: int) -> dict[str, int]:
        """Apply one round of churn: K parties changed, stamped now. Returns rows upserted per table."""
        from jde_mc_pipeline.emulators.ais.demo import churn_changes

        changes = churn_changes(rng, self.store.snapshot(), count, self.clock().date())
        upserted = {
            name: sum(self.store.upsert(name, rows).values()) for name, rows in changes.items() if rows
        }
        self.app.stats.incr("churn_rounds")
        self.app.stats.incr("churn_rows", sum(upserted.values()))
        return upserted

    def _start_churn(self) -> None:
        if self._churn is None or self._churn_thread is not None:
            return
        count, seconds = self._churn
        rng = random.Random(self._seed)

        def run() -> None:
            while not self._stop_churn.wait(seconds):
                try:
                    self.churn_once(rng, count)
                except Exception as error:  # a broken churn round must not kill the server
                    print(f"JDE emulator churn failed: {error}", file=sys.stderr, flush=True)

        self._churn_thread = threading.Thread(target=run, name="jde-churn", daemon=True)
        self._churn_thread.start()


def build_server(
    port: int = 0,
    *,
    data_dir: str | None = None,
    demo: int | None = None,
    seed: int = 0,
    token_ttl: float = 1800.0,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    churn: tuple[int, float] | None = None,
    username: str = "JDE",
    password: str = "JDE",
    environment: str = "JDV920",
    result_set_ttl: float = 60.0,
    simple_date_format: str = "MM/dd/yyyy",
    clock: Callable[[], datetime] | None = None,
) -> JdeEmulatorServer:
    """A configured, loaded, not yet started emulator on 127.0.0.1:`port` (0 = a free port).

    Raises CsvLoadError / RowError for bad data, naming file or table, row and column.
    """
    if data_dir is not None and demo is not None:
        raise ValueError("give data_dir or demo, not both")
    now = clock or local_now
    store = Store(now)
    if data_dir is not None:
        for name, rows in read_export(data_dir).items():
            store.upsert(name, rows, stamp=False)
    elif demo is not None:
        from jde_mc_pipeline.emulators.ais.demo import generate_demo
        from jde_mc_pipeline.emulators.ais.demo_udc import udc_rows

        started = now()
        generated = generate_demo(demo, seed, started.date())
        for name in list(generated):  # table by table, freeing each generated table once stored
            rows = _not_after(name, generated.pop(name), started)
            store.upsert(name, rows, stamp=False, strict=True)
        store.upsert("F0005", udc_rows(), stamp=False, strict=True)
    stats = RequestStats()
    app = AisApp(
        identity=Identity(username, password, environment, simple_date_format),
        store=store,
        tokens=TokenRegistry(now, token_ttl),
        dataservice=DataService(store, stats, now, result_set_ttl),
        faults=Faults(fault_rate=fault_rate, latency_ms=latency_ms, seed=seed),
        stats=stats,
        clock=now,
    )
    return JdeEmulatorServer(app, port, churn, seed)


def _not_after(table_name: str, rows: list[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """Move demo stamps later than `moment` back to it.

    The generator knows only today's date, so a change it places "today" may carry a time still
    ahead of the clock; JDE never holds a stamp from the future, and a client watermark must not
    meet one.
    """
    table = tables.table(table_name)
    upmj, upmt = table.db_name("UPMJ"), table.db_name("UPMT")
    latest = (to_julian(moment.date()), to_hhmmss(moment))
    for row in rows:
        if (row[upmj], row[upmt]) > latest:
            row[upmj], row[upmt] = latest
    return rows


def main(options: dict[str, Any]) -> int:
    """`jde-mc emulate jde`: build, print one ready line, serve until Ctrl-C. Returns the exit code."""
    settings = dict(options)
    if settings.get("data_dir") is None and settings.get("demo") is None:
        settings["demo"] = DEFAULT_DEMO_PARTIES
    try:
        server = build_server(**settings)
    except (CsvLoadError, RowError, ValueError, OSError) as error:
        print(f"JDE AIS emulator cannot start: {error}", file=sys.stderr, flush=True)
        return 2
    identity = server.app.identity
    print(
        f"JDE AIS emulator ready at {server.url} (user {identity.username}, password {identity.password}, "
        f"environment {identity.environment})",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0

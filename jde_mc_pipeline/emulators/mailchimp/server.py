"""Build and run the Mailchimp Marketing API emulator (`jde-mc emulate mailchimp`).

`build_server(...)` returns a server that is not started yet: tests call `.start()` / `.stop()` (or use
it as a context manager), the CLI calls `main(options)`, which serves in the foreground until Ctrl-C and
saves the state to `state_file` on the way out. The API lives at `{url}/{dc}/3.0/...` with the data
center of the API key, so `MAILCHIMP_API_URL={url}/{dc}/3.0` is the whole client configuration.
With `marketer=(K, S)` a thread plays the marketer: K hand-made changes every S seconds
(marketer_churn.py), seeded by `seed`, listed at `GET /_emulator/marketer`.
"""

from __future__ import annotations

import gc
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jde_mc_pipeline.emulators.http import EmulatorServer
from jde_mc_pipeline.emulators.mailchimp.app import MailchimpApp
from jde_mc_pipeline.emulators.mailchimp.limits import DEFAULT_FAULT_KINDS, DEFAULT_SLOW_MS
from jde_mc_pipeline.emulators.mailchimp.marketer_churn import MarketerAction, marketer_round
from jde_mc_pipeline.emulators.mailchimp.validation import DEFAULT_FAKE_EMAIL_DOMAINS

DEFAULT_API_KEY = "0123456789abcdef0123456789abcdef-us21"
DEFAULT_LIST_ID = "a1b2c3d4e5"
DEFAULT_BATCH_STEP_SECONDS = 0.25
MAX_PENDING_BATCHES = 500  # per user (docs/mailchimp.md, Batch operations)
GC_THRESHOLDS = (100_000, 50, 100)  # CPython's defaults are (700, 10, 10)
CLI_OPTIONS = (
    "port",
    "api_key",
    "list_id",
    "latency_ms",
    "fault_rate",
    "max_connections",
    "state_file",
    "seed",
    "marketer",
)


class MailchimpEmulatorServer(EmulatorServer):
    """An `EmulatorServer` that also knows the account it emulates, and stops its batch and marketer
    threads."""

    def __init__(
        self,
        app: MailchimpApp,
        port: int,
        state_file: str | None,
        marketer: tuple[int, float] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(app, port)
        self.app = app
        self.state_file = state_file
        app.server_url = self.url
        self._marketer = marketer
        self._seed = seed
        self._stop_marketer = threading.Event()
        self._marketer_thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        """`MAILCHIMP_API_URL`: the base URL template with a literal `{dc}`."""
        return f"{self.url}/{{dc}}/3.0"

    @property
    def api_key(self) -> str:
        return self.app.api_key

    @property
    def list_id(self) -> str:
        return self.app.list_id

    def start(self) -> MailchimpEmulatorServer:
        """Serve in a daemon thread (and play the marketer, if configured)."""
        super().start()
        self._start_marketer()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread (and play the marketer, if configured) until interrupted."""
        self._start_marketer()
        try:
            super().serve_forever()
        finally:
            self._stop_marketer.set()

    def stop(self) -> None:
        self._stop_marketer.set()
        super().stop()
        self.app.batches.stop()
        if self._marketer_thread is not None:
            self._marketer_thread.join(timeout=5)

    def marketer_once(self, rng: random.Random, count: int) -> list[MarketerAction | None]:
        """One round of the marketer's hand-made changes (None: an action that found no contact)."""
        with self.app.state.lock:
            taken = marketer_round(self.app, self.app.list_id, rng, count)
            self.app.record_marketer(taken)
        return taken

    def _start_marketer(self) -> None:
        if self._marketer is None or self._marketer_thread is not None:
            return
        count, seconds = self._marketer
        rng = random.Random(self._seed)

        def run() -> None:
            while not self._stop_marketer.wait(seconds):
                try:
                    self.marketer_once(rng, count)
                except Exception as error:  # a broken round must not kill the server
                    print(f"Mailchimp emulator marketer failed: {error}", file=sys.stderr, flush=True)

        self._marketer_thread = threading.Thread(target=run, name="mailchimp-marketer", daemon=True)
        self._marketer_thread.start()

    def save_state(self) -> None:
        """Write the state to `state_file`, when one was given."""
        if self.state_file:
            self.app.state.save(self.state_file)


def build_server(
    port: int = 0,
    *,
    api_key: str = DEFAULT_API_KEY,
    list_id: str = DEFAULT_LIST_ID,
    latency_ms: float = 0.0,
    fault_rate: float = 0.0,
    max_connections: int = 10,
    state_file: str | None = None,
    seed: int | None = None,
    fake_email_domains: Iterable[str] = DEFAULT_FAKE_EMAIL_DOMAINS,
    batch_step_seconds: float = DEFAULT_BATCH_STEP_SECONDS,
    fault_kinds: Iterable[str] = DEFAULT_FAULT_KINDS,
    slow_ms: float = DEFAULT_SLOW_MS,
    clock: Callable[[], float] = time.time,
    max_pending_batches: int = MAX_PENDING_BATCHES,
    marketer: tuple[int, float] | None = None,
) -> MailchimpEmulatorServer:
    """A Mailchimp emulator on 127.0.0.1:`port` (0: a free port), not started yet.

    It starts from `state_file` when that file exists (and saves there on CLI exit), with the audience
    `list_id` holding the default merge fields. `fake_email_domains` are refused as "looks fake or
    invalid"; `batch_step_seconds` is the pause between the stages of a `/batches` job; `fault_kinds`
    and `slow_ms` shape fault injection (see limits.py); `clock` gives epoch seconds (tests may fake it);
    `max_pending_batches` is Mailchimp's limit of unfinished batches (tests lower it to reach it);
    `marketer=(K, S)` takes K hand-made actions every S seconds once started (marketer_churn.py).
    """
    app = MailchimpApp(
        api_key=api_key,
        list_id=list_id,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        max_connections=max_connections,
        seed=seed,
        fake_email_domains=fake_email_domains,
        batch_step_seconds=batch_step_seconds,
        fault_kinds=tuple(fault_kinds),
        slow_ms=slow_ms,
        clock=clock,
        max_pending_batches=max_pending_batches,
    )
    if state_file and Path(state_file).exists():
        app.state.load(state_file)
        app.state.ensure_list(list_id)
        app.remember_start()
    return MailchimpEmulatorServer(app, port, state_file, marketer, seed)


def main(options: dict[str, Any]) -> int:
    """Serve in the foreground with the CLI's options; one ready line on stdout, state saved on exit.

    The process is the emulator's own, so it tunes its garbage collector: the state is hundreds of
    thousands of long-lived member and customer objects, and with the default thresholds the collector
    walked them again and again while requests churned through short-lived dicts (about a third of the
    CPU of a batch subscribe, a fifth of a `/batches` operation). Young garbage is still collected.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    server = build_server(**{name: options[name] for name in CLI_OPTIONS if name in options})
    print(
        f"Mailchimp emulator ready: MAILCHIMP_API_URL={server.api_url} "
        f"MAILCHIMP_API_KEY={server.api_key} MAILCHIMP_LIST_ID={server.list_id}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.app.batches.stop()
        server.save_state()
    return 0

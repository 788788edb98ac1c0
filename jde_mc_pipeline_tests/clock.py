"""The tests' clock: every test module runs on a fixed day, so the story a test tells is the same every day.

The demo address book is generated relative to its day (and seeded with it), and the product reads the
clock to date partitions, cap watermarks and choose effective addresses. A test that read the machine's
clock told a different story each day: it passed on the day it was written and failed on another.

`on_fixed_clock(moment)` moves this process's clock to `moment` with time-machine and lets it tick, and
hands the same clock to the Python subprocesses the test starts (the `jde-mc` CLI, `dagster` commands):
`clock_shim/sitecustomize.py` is put first on their PYTHONPATH and travels by the same offset. Modules
marked `real_clock` keep the machine's clock: they run the Dagster daemon or `dagster dev`, whose run
workers and code servers are compared with /proc (start times of processes), which no shim can move.
A `dagster-webserver` on the moved clock lost its gRPC code server while starting (the server exited
after its heartbeat timeout): a test that starts one and needs no date gives it `on_machine_clock(env)`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import time_machine

TODAY = dt.date(2026, 6, 15)
"""The tests' today, a Monday in mid-month (sync/test_lifecycle_dates.py runs the story on other days)."""
NOW = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
OFFSET_VARIABLE = "TESTS_CLOCK_OFFSET_SECONDS"
"""Not a JDE_/MAILCHIMP_ name: tests that clear the connector's settings from a child's environment
keep it."""
SHIM = Path(__file__).parent / "clock_shim"


@contextmanager
def on_fixed_clock(moment: dt.datetime = NOW) -> Iterator[None]:
    """This process, and the Python subprocesses started meanwhile, on a clock that reads `moment` now."""
    saved = {name: os.environ.get(name) for name in (OFFSET_VARIABLE, "PYTHONPATH")}
    offset = moment.timestamp() - time.time()
    os.environ[OFFSET_VARIABLE] = repr(offset)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(SHIM), saved["PYTHONPATH"])))
    try:
        with time_machine.travel(moment, tick=True):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def on_machine_clock(env: dict[str, str]) -> dict[str, str]:
    """A subprocess environment without the tests' clock (module doc: Dagster's gRPC code servers)."""
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(SHIM)]
    kept = {k: v for k, v in env.items() if k not in (OFFSET_VARIABLE, "PYTHONPATH")}
    return {**kept, "PYTHONPATH": os.pathsep.join(paths)} if paths else kept

"""Fewer passes of Python's cyclic garbage collector while a step handles a whole load.

Why: a step of the initial load holds millions of container objects (row dicts, payload dicts, object
cells of frames), and with CPython's default thresholds (700, 10, 10) the collector walks them again and
again: 5.8 s of a 100,000-party initial load went to 7,300 collections; with the thresholds below, 32
collections took 1.2 s (BENCHMARKS.md). The steps make little cyclic garbage, reference counting frees the
rest at once, young garbage is still collected, and the thresholds go back when the step ends. The
Mailchimp emulator's process tunes its collector the same way (emulators/mailchimp/server.py).

`Waits` puts in a step's metadata how long it waited on AIS and on Mailchimp, so that what is left (the
step's own time) can be measured and shortened.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg

from jde_mc_pipeline.wait_clock import AIS_WAIT, MAILCHIMP_WAIT

STEP_THRESHOLDS = (100_000, 50, 100)
"""gen0 allocations, gen0 passes per gen1 pass, gen1 passes per gen2 pass (CPython's: 700, 10, 10)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """`STEP_THRESHOLDS` inside the block, the previous thresholds after it; then the step's garbage
    collected and its freed memory handed back to the system (`release_memory`)."""
    before = gc.get_threshold()
    gc.set_threshold(*STEP_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        release_memory()


def release_memory() -> None:
    """Collect cyclic garbage and return the C heap's free pages to the system (glibc's `malloc_trim`).

    Why: the steps of a run share one process (the in-process executor), and glibc keeps the pages a
    step freed for later allocations: without this, the next step's peak adds to what the last step left
    (the 100,000-party initial load's peak, BENCHMARKS.md). A no-op where libc has no `malloc_trim`.
    """
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


@dataclass
class Waits:
    """What a step waited on AIS and on Mailchimp (wait_clock.py), from its start to `metadata()`."""

    ais: float = field(default_factory=lambda: AIS_WAIT.seconds)
    mailchimp: float = field(default_factory=lambda: MAILCHIMP_WAIT.seconds)

    def metadata(self) -> dict[str, dg.MetadataValue]:
        """`run_waiting_on_ais_seconds` and `run_waiting_on_mailchimp_seconds`: subtracted from the
        step's time, they leave the connector's own time (benchmarks/end_to_end.py)."""
        return {
            "run_waiting_on_ais_seconds": dg.MetadataValue.float(round(AIS_WAIT.seconds - self.ais, 3)),
            "run_waiting_on_mailchimp_seconds": dg.MetadataValue.float(
                round(MAILCHIMP_WAIT.seconds - self.mailchimp, 3)
            ),
        }

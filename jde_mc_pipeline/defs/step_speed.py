"""Fewer passes of Python's cyclic garbage collector while a step handles a whole load.

Why: a step of the initial load holds millions of container objects (row dicts, payload dicts, object
cells of frames), and with CPython's default thresholds (700, 10, 10) the collector walks them again and
again: 5.8 s of a 100,000-party initial load went to 7,300 collections; with the thresholds below, 32
collections took 1.2 s (BENCHMARKS.md). The steps make little cyclic garbage, reference counting frees the
rest at once, young garbage is still collected, and the thresholds go back when the step ends. The
Mailchimp emulator's process tunes its collector the same way (emulators/mailchimp/server.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

STEP_THRESHOLDS = (100_000, 50, 100)
"""gen0 allocations, gen0 passes per gen1 pass, gen1 passes per gen2 pass (CPython's: 700, 10, 10)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """`STEP_THRESHOLDS` inside the block, the previous thresholds after it."""
    before = gc.get_threshold()
    gc.set_threshold(*STEP_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)

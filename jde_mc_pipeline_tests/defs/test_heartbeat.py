"""The heartbeat of a long step: a progress line every interval while the block runs, none after it."""

from __future__ import annotations

import time

from jde_mc_pipeline.defs.heartbeat import Heartbeat


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(text)


def test_a_long_stage_logs_its_progress_and_stops_with_the_stage() -> None:
    log, done = Lines(), []
    with Heartbeat(log, lambda seconds: f"{len(done)} done after {seconds:.2f} s", every=0.05):  # type: ignore[arg-type]
        for _ in range(6):
            done.append(1)
            time.sleep(0.05)
    after = len(log.lines)
    time.sleep(0.15)

    assert after >= 2 and len(log.lines) == after
    assert all(line.endswith(" s") and " done after " in line for line in log.lines)


def test_a_short_stage_logs_nothing() -> None:
    log = Lines()
    with Heartbeat(log, lambda seconds: "never", every=5.0):  # type: ignore[arg-type]
        pass
    assert log.lines == []

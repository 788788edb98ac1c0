"""Benchmark: the synced state at scale, the way runs after the first load use it.

    .venv/bin/python benchmarks/synced_state.py [--parties N] [--changed 0.1]

With N synthetic parties (the frames of benchmarks/mapping.py) and the state in a DuckDB file: the first
mapping (empty state), recording a clean sync of every record, a re-mapping of the same data (every
record found in the state, all `unchanged`), a day on which a share of the parties changed their e-mail
(renames, retirements), recording that day, and the companion look-up of that day's parties. Prints
seconds per step and the outcome counts. The machine is shared: run it alone when the numbers matter.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from mapping import TODAY, synthetic_frames  # the mapping benchmark's address book

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mapping.batch import MappingResult, map_batch
from jde_mc_pipeline.mapping.options import TARGETS, MappingOptions
from jde_mc_pipeline.sync.companions import companion_an8s
from jde_mc_pipeline.sync.writes import TargetBatch, answered, combine_outcomes


def written(result: MappingResult, outcome: str) -> pd.DataFrame:
    """The outcome rows a sync records when Mailchimp accepted every payload of `result`."""
    pushed = (answered(TargetBatch.of(result, target), outcome) for target in TARGETS)
    return combine_outcomes(result.outcomes, *pushed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.1, help="share of parties changing e-mail")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    frames = synthetic_frames(args.parties)
    steps: list[tuple[str, float, str]] = []

    def timed(name: str, work):
        started = time.perf_counter()
        value = work()
        steps.append((name, time.perf_counter() - started, ""))
        return value

    with tempfile.TemporaryDirectory() as folder:
        state = DuckDBSyncedState(AuditStore(Path(folder) / "audit_trail.duckdb"))
        options = MappingOptions()
        first = timed(
            "map, empty state", lambda: map_batch(frames, options, state=state, today=TODAY, with_trail=False)
        )
        rows = written(first, "created")
        timed(f"record {len(rows):,} outcomes", lambda: state.record_outcomes(rows, run_id="first"))
        again = timed(
            "map again, full state",
            lambda: map_batch(frames, options, state=state, today=TODAY, with_trail=False),
        )
        steps[-1] = (steps[-1][0], steps[-1][1], _counts(again))

        moved = frames["F01151"].copy()
        rng = np.random.default_rng(1)
        chosen = rng.random(len(moved)) < args.changed
        moved.loc[chosen, "EMAL"] = "moved." + moved.loc[chosen, "EMAL"].astype(str)
        an8s = np.unique(moved.loc[chosen, "AN8"].astype(np.int64))
        day = {
            name: frame.loc[frame["AN8"].isin(an8s)].reset_index(drop=True) for name, frame in frames.items()
        }
        day["F01151"] = moved.loc[moved["AN8"].isin(an8s)].reset_index(drop=True)
        found = timed(f"companions of {len(an8s):,} parties", lambda: companion_an8s(state, an8s, day))
        steps[-1] = (steps[-1][0], steps[-1][1], f"{len(found):,} more to pull")
        changed = timed(
            "map the day", lambda: map_batch(day, options, state=state, today=TODAY, with_trail=False)
        )
        steps[-1] = (steps[-1][0], steps[-1][1], _counts(changed))
        rows = written(changed, "renamed")
        timed(f"record {len(rows):,} outcomes of the day", lambda: state.record_outcomes(rows, run_id="day"))
        held = state.count()

    print(f"synced state benchmark, {args.parties:,} parties, {args.changed:.0%} change e-mail")
    for name, seconds, note in steps:
        print(f"  {name:<40} {seconds:7.2f} s  {note}")
    print(f"records held at the end: {held}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak resident memory {peak:.2f} GiB (ru_maxrss; includes the input frames)")


def _counts(result: MappingResult) -> str:
    sent = {target: len(result.payloads(target)) for target in TARGETS}
    decided = result.outcomes.groupby("outcome").size().to_dict()
    return f"sent {sent}, decided {decided}"


if __name__ == "__main__":
    main()

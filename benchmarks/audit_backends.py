"""Benchmark: recording an initial load's audit rows on DuckDB and on PostgreSQL.

    .venv/bin/python benchmarks/audit_backends.py [--parties 100000] [--postgres-url postgresql://...]

With N synthetic parties (the six tables' frames of benchmarks/mapping.py, mapped with the trail) each
backend records what a first sync records: `record_pulls` of the six frames, `record_mapped_values` of the
trail, `record_events`, `record_outcomes` of every party and target (every payload accepted), and the
synced state advanced from them. Each backend runs in a fresh process of its own, so that its peak memory
is its own: printed are the seconds per step and in all, and the resident memory (VmRSS, sampled every
10 ms) the recording added on top of the frames and the mapping result. PostgreSQL's server memory is not
in that number (DuckDB's engine is: it runs in the process). Without `--postgres-url`, a throw-away server
is started (jde_mc_pipeline_tests/postgres.py, `make postgres` installs it; `fsync=off`, as in the tests).
The machine is shared: run it alone when the numbers matter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCATION = "AUDIT_BENCHMARK_LOCATION"
STEPS = ("pulls", "mapped values", "events", "outcomes", "state advance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--postgres-url", help="an empty database to use (default: start a server)")
    parser.add_argument("--child", choices=("duckdb", "postgres"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(record(args.child, os.environ[LOCATION], args.parties)))
        return
    with tempfile.TemporaryDirectory() as folder:
        server = None
        url = args.postgres_url
        if url is None:
            sys.path.insert(0, str(ROOT))
            from jde_mc_pipeline_tests.postgres import PostgresServer

            server = PostgresServer.start()
            url = server.create_database("audit_benchmark")
        try:
            from jde_mc_pipeline.audit.postgres.connection import redacted
            from jde_mc_pipeline.audit.postgres.migrations import upgrade

            upgrade(url)
            results = {
                "duckdb": _child("duckdb", str(Path(folder) / "audit_trail.duckdb"), args.parties),
                "postgres": _child("postgres", url, args.parties),
            }
            where = redacted(url)
        finally:
            if server is not None:
                server.stop()
    _report(results, args.parties, where)


def _child(backend: str, location: str, parties: int) -> dict:
    """Run `record` in a fresh process; the location (a URL with its password) goes by the environment,
    not the command line, which any user of the machine can read."""
    command = [sys.executable, __file__, "--child", backend, "--parties", str(parties)]
    env = {**os.environ, LOCATION: location}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{backend}: the recording failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def record(backend: str, location: str, parties: int) -> dict:
    """One backend's recording of the load, in this process: seconds per step, memory added."""
    warnings.simplefilter("ignore", FutureWarning)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from mapping import TODAY, synthetic_frames

    from jde_mc_pipeline.audit.backends import open_store, synced_state
    from jde_mc_pipeline.mapping.batch import map_batch
    from jde_mc_pipeline.mapping.options import TARGETS, MappingOptions
    from jde_mc_pipeline.sync.writes import TargetBatch, answered, combine_outcomes

    frames = synthetic_frames(parties)
    result = map_batch(frames, MappingOptions(), today=TODAY, with_trail=True)
    pushed = (answered(TargetBatch.of(result, target), "created") for target in TARGETS)
    outcomes = combine_outcomes(result.outcomes, *pushed)
    store = open_store(location)
    state = synced_state(store)
    baseline = _resident_mib()
    sampler = _ResidentSampler()
    work = (
        lambda: store.record_pulls("load", frames),
        lambda: store.record_mapped_values("load", result.trail),
        lambda: store.record_events("load", result.events),
        lambda: store.record_outcomes("load", "2026-11-27", outcomes),
        lambda: state.record_outcomes(outcomes, run_id="load"),
    )
    seconds = []
    for step in work:
        started = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - started)
    peak = max(sampler.stop() or [baseline])
    return {
        "seconds": seconds,
        "added_mib": peak - baseline,
        "baseline_mib": baseline,
        "rows": {
            "pulls": sum(len(frame) for frame in frames.values()),
            "mapped values": len(result.trail),
            "events": len(result.events),
            "outcomes": len(outcomes),
            "state advance": len(outcomes),
        },
        "records": synced_state(store).count(),
    }


def _report(results: dict[str, dict], parties: int, where: str) -> None:
    duck, pg = results["duckdb"], results["postgres"]
    print(f"audit backends, initial load of {parties:,} parties (PostgreSQL: {where})")
    print(f"  {'step':<16} {'rows':>10}  {'DuckDB s':>9}  {'PostgreSQL s':>12}  {'ratio':>6}")
    for i, step in enumerate(STEPS):
        d, p = duck["seconds"][i], pg["seconds"][i]
        print(f"  {step:<16} {duck['rows'][step]:>10,}  {d:9.2f}  {p:12.2f}  {p / d:6.2f}")
    d, p = sum(duck["seconds"]), sum(pg["seconds"])
    print(f"  {'total':<16} {'':>10}  {d:9.2f}  {p:12.2f}  {p / d:6.2f}")
    print(
        f"  memory added by the recording (MiB, peak VmRSS over the frames and mapping of "
        f"{duck['baseline_mib']:.0f} / {pg['baseline_mib']:.0f}): DuckDB {duck['added_mib']:.0f}, "
        f"PostgreSQL {pg['added_mib']:.0f} (client side)"
    )
    print(f"  records in the synced state: DuckDB {duck['records']}, PostgreSQL {pg['records']}")


class _ResidentSampler:
    """VmRSS every 10 ms in a thread (ru_maxrss would include the frames' generation and the mapping)."""

    def __init__(self) -> None:
        self._samples: list[float] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.01):
            self._samples.append(_resident_mib())

    def stop(self) -> list[float]:
        self._done.set()
        self._thread.join()
        return self._samples


def _resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()

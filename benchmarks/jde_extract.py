"""Benchmark: extract every demo party from the AIS emulator, then small windows and the change probe.

Usage: .venv/bin/python benchmarks/jde_extract.py [--parties 100000] [--latencies 0,50]
       [--latency-parties 100000] [--page-size 1000] [--chunk-size 500] [--read-sessions 1,2,4,8]
       [--initial-load-only]

The emulator runs in a child process (started with `build_server(demo=N, ...)`), so that it does not share
one GIL with the client. Each initial load (all history in one pass, about 670 calls for 100,000 parties;
jde/extract.py) runs once per `--read-sessions` count (JDE_MC_AIS_READ_SESSIONS: the calls shared by that
many AIS sessions, jde/slices.py), each in a forked process of its own, so that the peak memory printed is
that run's own (its ru_maxrss; the emulator holds the whole data set). Printed per run: wall time,
parties/s, client CPU, AIS calls (all HTTP requests; data requests apart), tokens requested, pages, rows,
retries and peak memory; then one line per latency comparing the runs.

Then (unless `--initial-load-only`), to show that calls grow with the changed parties and not with the
table sizes, windows with K changed parties (K new phone rows posted through the control endpoint), and
the probe with no change (target: one call per table plus token and logout). Last, the key read of the
scope reconciliation (F0101 AN8/AT1, F03012 AN8, the F01151 e-mail rows), which runs nightly over the
whole address book.

At L ms emulated latency every call costs L ms (each call sleeps in its own server thread, so calls of
different sessions overlap as on a real AIS with many worker threads). `--latency-parties` bounds the
parties of the runs with latency on slower machines; the output says when it did.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from jde_mc_pipeline.audit.state import memory_state
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import Watermark, extract_since, extract_through, probe_changes
from jde_mc_pipeline.jde.session import ClientStats
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.sync.scope import scope_changes


def _serve(parties: int, latency_ms: float, seed: int, pipe: Any) -> None:
    from jde_mc_pipeline.emulators.ais.server import build_server

    server = build_server(demo=parties, seed=seed, latency_ms=latency_ms).start()
    pipe.send(server.url)
    pipe.recv()  # wait until the benchmark is done
    server.stop()


@contextmanager
def emulator(parties: int, latency_ms: float, seed: int = 7) -> Iterator[str]:
    """The URL of an emulator with `parties` demo parties, running in a child process."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(parties, latency_ms, seed, child), daemon=True
    )
    started = time.perf_counter()
    process.start()
    url = parent.recv()
    print(f"  emulator with {parties:,} demo parties ready in {time.perf_counter() - started:.1f} s at {url}")
    try:
        yield url
    finally:
        parent.send("stop")
        process.join(timeout=30)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def describe(stats: ClientStats) -> str:
    return (
        f"calls={stats.calls} (data {stats.data_calls}) tokens={stats.tokens} pages={stats.pages} "
        f"rows={stats.rows:,} retries={stats.retries} reauths={stats.reauths} restarts={stats.restarts} "
        f"logouts={stats.logouts}"
    )


def full_extraction(url: str, page_size: int, chunk_size: int, read_sessions: int) -> dict[str, Any]:
    """One initial load in a forked process (its own peak memory): its figures, watermark and parties."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_extract_in_child, args=(url, page_size, chunk_size, read_sessions, child)
    )
    process.start()
    run = parent.recv()
    process.join()
    print(
        f"  initial load, {read_sessions} read session(s): {len(run['an8s']):,} parties in "
        f"{run['seconds']:.1f} s = {len(run['an8s']) / run['seconds']:,.0f} parties/s "
        f"(client CPU {run['cpu']:.1f} s), peak memory {run['peak_mib']:,.0f} MiB"
    )
    print(f"    {run['stats']}")
    print(f"    rows per table: {run['rows']}")
    return run


def _extract_in_child(url: str, page_size: int, chunk_size: int, read_sessions: int, pipe: Any) -> None:
    client = AisClient(
        url, "JDE", "JDE", environment="JDV920", page_size=page_size, list_chunk_size=chunk_size,
        read_sessions=read_sessions,
    )  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    with client:
        result = extract_through(client, dt.date.today() + dt.timedelta(days=1))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    pipe.send(
        {
            "sessions": read_sessions,
            "seconds": seconds,
            "cpu": cpu,
            "calls": client.stats.calls,
            "stats": describe(client.stats),
            "rows": {name: len(frame) for name, frame in result.frames.items()},
            "peak_mib": peak_mib(),
            "watermark": result.watermark,
            "an8s": sorted(result.an8s),
        }
    )


def compare(latency: float, runs: list[dict[str, Any]]) -> None:
    """One line per run: wall time, its ratio to the first run's, AIS calls, peak memory."""
    first = runs[0]["seconds"]
    print(f"  latency {latency:g} ms: sessions | wall s | × first | AIS calls | peak MiB")
    for run in runs:
        print(
            f"    {run['sessions']:>2} | {run['seconds']:6.1f} | {first / run['seconds']:5.2f} | "
            f"{run['calls']:>5} | {run['peak_mib']:,.0f}"
        )


def changed_windows(
    url: str, watermark: Watermark, an8s: list[int], page_size: int, sizes: list[int]
) -> None:
    """Post K new phone rows (a child-table-only change) and extract the window since the watermark."""
    start = watermark
    for number, size in enumerate(sizes):
        time.sleep(1.1)  # a new second, so that the inclusive start sees only the K new rows
        phones = [
            {"WPAN8": an8, "WPIDLN": 0, "WPRCK7": 9000 + number, "WPPHTP": "BNCH", "WPPH1": "555-0100"}
            for an8 in an8s[:size]
        ]
        requests.post(f"{url}/_emulator/tables/F0115/rows", json=phones, timeout=300).raise_for_status()
        client = AisClient(url, "JDE", "JDE", environment="JDV920", page_size=page_size)
        started = time.perf_counter()
        with client:
            result = extract_since(client, start)
        seconds = time.perf_counter() - started
        print(
            f"  window with {len(result.an8s):,} changed parties: {seconds:.2f} s, {describe(client.stats)}"
        )
        start = result.watermark or start
    probe_client = AisClient(url, "JDE", "JDE", environment="JDV920")
    with probe_client:
        probe = probe_changes(probe_client, start)
    print(f"  probe after them: changed={probe.changed}; {describe(probe_client.stats)}")


def scope_key_read(url: str, page_size: int) -> None:
    """The nightly reconciliation's read of keys over the whole book (empty synced state: nothing to sync)."""
    client = AisClient(url, "JDE", "JDE", environment="JDV920", page_size=page_size)
    started = time.perf_counter()
    with client:
        found = scope_changes(client, memory_state(), MappingOptions())
    seconds = time.perf_counter() - started
    print(
        f"  scope reconciliation key read of {found.in_jde:,} parties: {seconds:.2f} s, "
        f"{describe(client.stats)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=100_000)
    parser.add_argument("--latencies", default="0,50", help="emulated latencies in ms, comma-separated")
    parser.add_argument("--latency-parties", type=int, default=100_000, help="parties for latencies > 0")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument(
        "--read-sessions", default="1,2,4,8", help="AIS sessions of the initial load, comma-separated"
    )
    parser.add_argument("--initial-load-only", action="store_true", help="no windows, probe, scope read")
    args = parser.parse_args()
    sessions = [int(value) for value in args.read_sessions.split(",")]
    for latency in (float(value) for value in args.latencies.split(",")):
        parties = args.parties if latency == 0 else min(args.parties, args.latency_parties)
        bounded = " (bounded to keep the run within a few minutes)" if parties < args.parties else ""
        print(
            f"latency {latency:g} ms, {parties:,} parties{bounded}, "
            f"page size {args.page_size}, LIST chunk {args.chunk_size}"
        )
        with emulator(parties, latency) as url:
            runs = [full_extraction(url, args.page_size, args.chunk_size, count) for count in sessions]
            compare(latency, runs)
            if args.initial_load_only:
                continue
            watermark, an8s = runs[0]["watermark"], runs[0]["an8s"]
            if watermark is not None:
                # The demo holds a few stamps later than now, so the extraction's watermark stops at now (see
                # extract.py); the no-change probe starts from the greatest stamp and looks from tomorrow.
                probe_client = AisClient(url, "JDE", "JDE", environment="JDV920")
                tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
                with probe_client:
                    newest = probe_changes(probe_client, watermark, now=tomorrow).watermark
                    probe = probe_changes(probe_client, newest, now=tomorrow)
                print(
                    f"  probe with no change: changed={probe.changed}; {describe(probe.stats)} "
                    "(+ the cycle's token request and logout)"
                )
                if latency == 0:
                    changed_windows(url, watermark, an8s, args.page_size, [100, 1_000, 10_000])
            scope_key_read(url, args.page_size)


if __name__ == "__main__":
    main()

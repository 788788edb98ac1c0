"""Benchmark: extract every demo party from the AIS emulator, then small windows and the change probe.

Usage: .venv/bin/python benchmarks/jde_extract.py [--parties 100000] [--latencies 0,50]
       [--latency-parties 100000] [--page-size 1000] [--chunk-size 500] [--read-sessions 2]

The emulator runs in a child process (started with `build_server(demo=N, ...)`), so that the peak memory
printed is the client's own (ru_maxrss of this process; the emulator holds the whole data set) and the
two do not share one GIL. Printed per run: parties/s, AIS calls (all HTTP requests; data requests apart),
tokens requested, pages, rows, retries and peak memory. Then, to show that calls grow with the changed
parties and not with the table sizes, windows with K changed parties (K new phone rows posted through the
control endpoint), and the probe with no change (target: one call per table plus token and logout).
Last, the key read of the scope reconciliation (F0101 AN8/AT1, F03012 AN8, the F01151 e-mail rows), which
runs nightly over the whole address book.

At 50 ms emulated latency every call costs 50 ms: the initial load of 100,000 parties reads all history
in one pass (about 660 calls; jde/extract.py), spread over `--read-sessions` AIS sessions (default 2, as
the pipeline's JDE_MC_AIS_READ_SESSIONS). `--latency-parties` bounds the parties of the runs with
latency on slower machines; the output says when it did.
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


def full_extraction(
    url: str, page_size: int, chunk_size: int, read_sessions: int
) -> tuple[Watermark | None, list[int]]:
    client = AisClient(
        url, "JDE", "JDE", environment="JDV920", page_size=page_size, list_chunk_size=chunk_size,
        read_sessions=read_sessions,
    )  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    with client:
        result = extract_through(client, dt.date.today() + dt.timedelta(days=1))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = {name: len(frame) for name, frame in result.frames.items()}
    print(
        f"  full extraction: {len(result.an8s):,} parties in {seconds:.1f} s "
        f"= {len(result.an8s) / seconds:,.0f} parties/s (client CPU {cpu:.1f} s)"
    )
    print(f"  {describe(client.stats)}")
    print(f"  rows per table: {rows}")
    print(f"  peak memory (this process, ru_maxrss): {peak_mib():,.0f} MiB")
    return result.watermark, sorted(result.an8s)


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
    parser.add_argument("--read-sessions", type=int, default=2, help="AIS sessions of the initial load")
    args = parser.parse_args()
    for latency in (float(value) for value in args.latencies.split(",")):
        parties = args.parties if latency == 0 else min(args.parties, args.latency_parties)
        bounded = " (bounded to keep the run within a few minutes)" if parties < args.parties else ""
        print(
            f"latency {latency:g} ms, {parties:,} parties{bounded}, "
            f"page size {args.page_size}, LIST chunk {args.chunk_size}"
        )
        with emulator(parties, latency) as url:
            watermark, an8s = full_extraction(url, args.page_size, args.chunk_size, args.read_sessions)
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

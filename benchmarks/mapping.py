"""Benchmark: assemble, map and validate N parties (default 1,000,000) from in-memory JDE frames.

    .venv/bin/python benchmarks/mapping.py [--parties N] [--no-trail]

The frames are synthetic but shaped like a real address book and generated column-wise: every party
has an F0101 and an F0111 row; ~60% have F03012 rows (customers), 20% are vendors by AT1, 10% are
employees (out of scope); 1.1 e-mail rows per party on average (2% invalid, 3% missing, 1% shared);
1.5 phone rows (some FAX); 1.2 address rows (some in the future, some incomplete, a few odd countries).
Prints seconds per stage, the resident memory sampled during each stage and the peak resident memory
of the process (ru_maxrss, input frames included). The machine is shared: run it alone when the
numbers matter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.options import MappingOptions

TODAY = dt.date(2026, 11, 27)


def _frame(name: str, an8: np.ndarray, columns: dict[str, object], rng: np.random.Generator) -> pd.DataFrame:
    """A typed frame (jde/tables.py) with the given columns, blanks elsewhere, random UPMJ/UPMT."""
    n = len(an8)
    data: dict[str, object] = {}
    for column in TABLES[name].columns:
        if column.alias == "AN8":
            data["AN8"] = pd.array(an8, dtype="Int64")
        elif column.alias in columns:
            data[column.alias] = columns[column.alias]
        elif column.kind == "string":
            data[column.alias] = np.full(n, "", dtype=object)
        elif column.kind == "number":
            data[column.alias] = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
        elif column.kind == "time":
            data[column.alias] = pd.array(
                rng.integers(0, 24, n) * 10000 + rng.integers(0, 60, n) * 100, dtype="Int64"
            )
        else:
            days = rng.integers(0, 3650, n).astype("timedelta64[D]")
            data[column.alias] = (np.datetime64("2016-11-27") + days).astype("datetime64[ns]")
    frame = pd.DataFrame(data)
    hhmmss = frame["UPMT"].to_numpy(dtype=np.int64)
    seconds = hhmmss // 10000 * 3600 + hhmmss // 100 % 100 * 60 + hhmmss % 100
    frame["updated_at"] = (frame["UPMJ"] + pd.to_timedelta(seconds, unit="s")).dt.tz_localize(
        "America/Chicago", ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward"
    )
    return frame


def _text(prefix: str, numbers: np.ndarray, suffix: str = "") -> np.ndarray:
    return (prefix + pd.Series(numbers).astype(str) + suffix).to_numpy(dtype=object)


def synthetic_frames(parties: int, seed: int = 7) -> dict[str, pd.DataFrame]:
    """The six frames for `parties` AN8s (see the module docstring for the proportions)."""
    rng = np.random.default_rng(seed)
    an8 = np.arange(1000, 1000 + parties, dtype=np.int64)
    at1 = rng.choice(np.array(["C", "V", "E", "C "[:1]], dtype=object), parties, p=[0.6, 0.2, 0.1, 0.1])
    frames = {
        "F0101": _frame("F0101", an8, {"ALPH": _text("Company ", an8, " Ltd"), "AT1": at1}, rng),
        "F0111": _frame(
            "F0111",
            an8,
            {
                "IDLN": pd.array(np.zeros(parties, np.int64), dtype="Int64"),
                "GNNM": _text("Given", an8 % 5000),
                "SRNM": _text("Surname", an8 % 20000),
            },
            rng,
        ),
    }
    customers = an8[rng.random(parties) < 0.6]
    frames["F03012"] = _frame(
        "F03012", customers, {"CO": np.full(len(customers), "00001", dtype=object)}, rng
    )

    mail_an8 = np.sort(np.concatenate([an8[rng.random(parties) >= 0.03], an8[rng.random(parties) < 0.1]]))
    rck7 = np.r_[1, np.where(mail_an8[1:] == mail_an8[:-1], 2, 1)]
    owner = np.where(rng.random(len(mail_an8)) < 0.01, mail_an8 - 1, mail_an8)
    emails = _text("person.", owner, "@example-mail.com")
    bad = rng.random(len(mail_an8)) < 0.02
    emails[bad] = _text("broken ", mail_an8[bad], "@@example")
    frames["F01151"] = _frame(
        "F01151",
        mail_an8,
        {
            "IDLN": pd.array(np.zeros(len(mail_an8), np.int64), dtype="Int64"),
            "RCK7": pd.array(rck7, dtype="Int64"),
            "ETP": np.full(len(mail_an8), "E", dtype=object),
            "EMAL": emails,
        },
        rng,
    )

    phone_an8 = np.sort(np.concatenate([an8, an8[rng.random(parties) < 0.5]]))
    prck7 = np.r_[1, np.where(phone_an8[1:] == phone_an8[:-1], 2, 1)]
    phtp = rng.choice(
        np.array(["", "FAX", "HOM", "CEL"], dtype=object), len(phone_an8), p=[0.5, 0.2, 0.2, 0.1]
    )
    frames["F0115"] = _frame(
        "F0115",
        phone_an8,
        {
            "IDLN": pd.array(np.zeros(len(phone_an8), np.int64), dtype="Int64"),
            "RCK7": pd.array(prck7, dtype="Int64"),
            "PHTP": phtp,
            "AR1": _text("", 200 + phone_an8 % 700),
            "PH1": _text("555  ", phone_an8 % 10000),
        },
        rng,
    )

    addr_an8 = np.sort(np.concatenate([an8, an8[rng.random(parties) < 0.2]]))
    days = rng.integers(-3000, 200, len(addr_an8)).astype("timedelta64[D]")
    eftb = (np.datetime64("2026-11-27") + days).astype("datetime64[ns]")
    zips = _text("", 10000 + addr_an8 % 89999)
    zips[rng.random(len(addr_an8)) < 0.05] = ""
    ctr = rng.choice(
        np.array(["US", "", "CA", "FRA", "XX"], dtype=object), len(addr_an8), p=[0.7, 0.2, 0.05, 0.04, 0.01]
    )
    frames["F0116"] = _frame(
        "F0116",
        addr_an8,
        {
            "EFTB": eftb,
            "ADD1": _text("", addr_an8 % 9999, " Main Street"),
            "ADD2": _text("Suite ", addr_an8 % 300),
            "CTY1": _text("City", addr_an8 % 500),
            "ADDS": np.full(len(addr_an8), "IL", dtype=object),
            "ADDZ": zips,
            "CTR": ctr,
        },
        rng,
    )
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=1_000_000)
    parser.add_argument("--no-trail", action="store_true", help="skip the field-level trail")
    args = parser.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    started = time.perf_counter()
    frames = synthetic_frames(args.parties)
    generated = time.perf_counter()
    rows = {name: len(frame) for name, frame in frames.items()}
    print(f"generated {sum(rows.values()):,} JDE rows {rows} in {generated - started:.1f} s (not counted)")
    print(
        f"resident memory with the frames: {_memory('VmRSS'):.2f} GiB, peak so far {_memory('VmHWM'):.2f} GiB"
    )
    timings: dict[str, float] = {}
    sampler = _ResidentSampler()
    mapping_started = time.perf_counter()
    result = map_batch(frames, MappingOptions(), today=TODAY, with_trail=not args.no_trail, timings=timings)
    samples = sampler.stop()
    total = time.perf_counter() - generated
    print(f"  {'stage':<28} {'seconds':>8}  resident GiB: max during, at end (sampled every 10 ms)")
    stage_start = mapping_started
    for stage, seconds in timings.items():
        during = [gib for at, gib in samples if stage_start <= at <= stage_start + seconds] or [float("nan")]
        print(f"  {stage:<28} {seconds:6.2f} s  {max(during):6.2f} {during[-1]:6.2f}")
        stage_start += seconds
    print(f"map_batch total               {total:6.2f} s for {args.parties:,} parties")
    print(
        f"members {len(result.members):,}  customers {len(result.customers):,}  decided outcomes "
        f"{len(result.outcomes):,}  events {len(result.events):,}  trail rows {len(result.trail):,}"
    )
    print(result.outcomes.groupby(["target", "outcome"]).size().to_string())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak resident memory {peak_kib / 1024 / 1024:.2f} GiB (ru_maxrss; includes the input frames)")


class _ResidentSampler:
    """VmRSS every 10 ms in a thread: which stage the peak belongs to (ru_maxrss only has the peak)."""

    def __init__(self) -> None:
        self._samples: list[tuple[float, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.01):
            self._samples.append((time.perf_counter(), _memory("VmRSS")))

    def stop(self) -> list[tuple[float, float]]:
        self._done.set()
        self._thread.join()
        return self._samples


def _memory(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process in GiB, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024 / 1024
    return float("nan")


if __name__ == "__main__":
    main()

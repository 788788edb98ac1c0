"""A fault soak of the real Dagster sync job, shared by jde_mc_pipeline_tests/defs/test_fault_soak.py (small,
fast) and benchmarks/fault_soak.py (20,000 parties).

Why a soak: each fault kind has its own unit test, but a run meets them all at once, interleaved with
token expiry and retries of batches that may or may not have been executed. What must hold afterwards is
the connector's promise as a whole: every party has exactly one outcome per target, every failure is in
the audit with what was sent, one replay finishes the job, and one e-mail never yields two contacts.

While the sync runs, the AIS emulator answers `ais_fault_rate` of its calls with an error, a dropped
connection or a revoked token, and a background thread expires every token every `expire_every_s`;
Mailchimp answers `mailchimp_fault_rate` of its calls with a fault drawn uniformly from
`mailchimp_kinds` (a kind listed twice is drawn twice as often). Both emulators draw from generators
seeded with `seed`. Requests run on several threads, so which request meets which draw can vary with
scheduling: the sequence of draws is reproducible, its assignment to requests is not exactly.

Mailchimp has no plain JSON 429 fault kind (its 429 comes only from the connection limit), so the 429s
here are the gateway's `html_429` pages.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import build_server as build_jde
from jde_mc_pipeline.emulators.mailchimp.server import build_server as build_mailchimp
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.sync import expected

# 5 % each: 10 % 5xx, 5 % gateway 429, 5 % reset before and 5 % reset after the write is executed
MAILCHIMP_KINDS = ("500", "503", "html_429", "reset", "reset_after")


@dataclass(frozen=True)
class SoakPlan:
    """How hard the soak shakes the two services, and how patient the clients are."""

    parties: int
    seed: int = 17
    ais_fault_rate: float = 0.05
    ais_kinds: tuple[str, ...] = ("error", "drop")
    expire_every_s: float = 2.0
    mailchimp_fault_rate: float = 0.25
    mailchimp_kinds: tuple[str, ...] = MAILCHIMP_KINDS
    mailchimp_max_attempts: int = 8
    mailchimp_max_retry_seconds: float = 10.0
    jde_page_size: int = 1000
    member_chunk_size: int = 500
    customer_batch_threshold: int = 100
    replay: bool = True


@dataclass
class Soak:
    """What the soak did and what the world looked like afterwards."""

    plan: SoakPlan
    sync: dg.ExecuteInProcessResult
    replay: dg.ExecuteInProcessResult | None
    sync_seconds: float
    replay_seconds: float
    expiry_rounds: int
    tokens_expired: int
    ais_stats: dict[str, Any]
    mailchimp_stats: dict[str, Any]
    found: dict[int, expected.Party]
    problems: list[str]
    members: dict[str, dict]
    customers: dict[str, dict]
    outcomes: pd.DataFrame
    pulled: set[int]
    writes: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def holders(self) -> dict[str, expected.Party]:
        return expected.holders(self.found)


def post(url: str, path: str, body: Any = None) -> Any:
    reply = requests.post(f"{url}/_emulator/{path}", json=body, timeout=30)
    reply.raise_for_status()
    return reply.json() if reply.content else None


def stats(url: str) -> dict[str, Any]:
    reply = requests.get(f"{url}/_emulator/stats", timeout=30)
    reply.raise_for_status()
    return reply.json()


class TokenReaper:
    """Expires every AIS token every `every` seconds until stopped: sessions die mid-extraction, as when
    an AIS server restarts or its session timeout is short."""

    def __init__(self, url: str, every: float) -> None:
        self.url, self.every = url, every
        self.rounds = self.expired = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="token-reaper", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.expired += post(self.url, "tokens/expire")["expired"]
            self.rounds += 1

    def __enter__(self) -> TokenReaper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def replay(world: SyncWorld) -> dg.ExecuteInProcessResult:
    """`mailchimp_replay` over every unresolved failure, as the sensor or an operator launches it."""
    return world.definitions.resolve_job_def("mailchimp_replay").execute_in_process(
        instance=world.instance, raise_on_error=False
    )


def run_soak(plan: SoakPlan, workdir: Path, instance: dg.DagsterInstance) -> Soak:
    """Both emulators, the sync of the whole demo history under faults, at most one replay without."""
    clock = ManualClock(dt.datetime.combine(SYNC_DAY, dt.time(12)))
    jde = build_jde(demo=plan.parties, seed=plan.seed, clock=clock).start()
    mailchimp = build_mailchimp(seed=plan.seed, batch_step_seconds=0.02).start()
    try:
        world = SyncWorld(
            jde, mailchimp, str(workdir / "audit_trail.duckdb"), str(workdir / "staging"), instance
        )
        world.configure(
            "mailchimp",
            max_attempts=plan.mailchimp_max_attempts,
            max_retry_seconds=plan.mailchimp_max_retry_seconds,
            member_chunk_size=plan.member_chunk_size,
            customer_batch_threshold=plan.customer_batch_threshold,
        )
        world.configure("jde", page_size=plan.jde_page_size)
        post(jde.url, "faults", {"fault_rate": plan.ais_fault_rate, "fault_kinds": list(plan.ais_kinds)})
        post(
            mailchimp.url,
            "faults",
            {"fault_rate": plan.mailchimp_fault_rate, "kinds": list(plan.mailchimp_kinds)},
        )
        began = time.monotonic()
        with TokenReaper(jde.url, plan.expire_every_s) as reaper:
            sync = world.run()
        sync_seconds = time.monotonic() - began
        post(jde.url, "faults", {"fault_rate": 0.0})
        post(mailchimp.url, "faults", {"fault_rate": 0.0})
        ais_stats, mailchimp_stats = stats(jde.url), stats(mailchimp.url)
        began = time.monotonic()
        replayed = replay(world) if plan.replay else None
        replay_seconds = time.monotonic() - began
        found = expected.parties(jde.url, jde_now("UTC").day)  # the connector dates addresses by now
        problems = expected.mismatches(mailchimp, found)
        members, customers = expected.mailchimp_state(mailchimp)
        with world.store.connect() as conn:
            outcomes = conn.execute(
                "SELECT run_id, an8, target, target_key, outcome, reason, payload, resolved_by "
                "FROM sync_outcomes"
            ).df()
            pulled = set(
                conn.execute("SELECT DISTINCT an8 FROM jde_pulls WHERE run_id = ? AND an8 > 0", [sync.run_id])
                .df()["an8"]
                .astype(int)
            )
            writes = conn.execute(
                "SELECT run_id, target, target_key, method, path, status, attempt FROM mailchimp_writes"
            ).df()
        return Soak(
            plan=plan,
            sync=sync,
            replay=replayed,
            sync_seconds=sync_seconds,
            replay_seconds=replay_seconds,
            expiry_rounds=reaper.rounds,
            tokens_expired=reaper.expired,
            ais_stats=ais_stats,
            mailchimp_stats=mailchimp_stats,
            found=found,
            problems=problems,
            members=members,
            customers=customers,
            outcomes=outcomes,
            pulled=pulled,
            writes=writes,
        )
    finally:
        jde.stop()
        mailchimp.stop()


def outcomes_per_party(soak: Soak) -> pd.Series:
    """(an8, target) → number of outcomes the sync run recorded, over every pulled party and target."""
    run = soak.outcomes.loc[soak.outcomes["run_id"] == soak.sync.run_id]
    counted = run.groupby(["an8", "target"]).size()
    index = pd.MultiIndex.from_product([sorted(soak.pulled), list(TARGETS)], names=["an8", "target"])
    return counted.reindex(index.union(counted.index), fill_value=0)


def summary(soak: Soak) -> dict[str, Any]:
    """The numbers a soak is judged by (the benchmark's table)."""
    ais, mc = soak.ais_stats, soak.mailchimp_stats
    sync_rows = soak.outcomes.loc[soak.outcomes["run_id"] == soak.sync.run_id]
    failed = sync_rows.loc[sync_rows["outcome"] == "failed"]
    replay_rows = (
        soak.outcomes.loc[soak.outcomes["run_id"] == soak.replay.run_id] if soak.replay else sync_rows[:0]
    )
    attempts = soak.writes.loc[soak.writes["run_id"] == soak.sync.run_id, "attempt"]
    return {
        "parties": soak.plan.parties,
        "seed": soak.plan.seed,
        "sync_succeeded": soak.sync.success,
        "sync_seconds": round(soak.sync_seconds, 1),
        "ais_calls": ais["total_requests"],
        "ais_faults": sum(v for k, v in ais.items() if k.startswith("faults_")),
        "ais_faults_by_kind": {k: v for k, v in ais.items() if k.startswith("faults_")},
        "ais_444": ais.get("responses_444", 0),
        "token_expiry_rounds": soak.expiry_rounds,
        "tokens_expired": soak.tokens_expired,
        "token_renewals": max(ais.get("tokens_issued", 0) - 1, 0),
        "mailchimp_requests": mc["total_requests"],
        "mailchimp_faults": sum(v for k, v in mc.items() if k.startswith("fault_")),
        "mailchimp_faults_by_kind": {k: v for k, v in mc.items() if k.startswith("fault_")},
        "mailchimp_throttled": mc.get("throttled", 0),
        "mailchimp_retries": int((attempts > 1).sum()),
        "failed_after_sync": len(failed),
        "failed_without_payload": int(failed["payload"].isna().sum()),
        "replay_succeeded": None if soak.replay is None else soak.replay.success,
        "replay_seconds": round(soak.replay_seconds, 1),
        "replayed": len(replay_rows),
        "resolved": int(failed["resolved_by"].notna().sum()),
        "open_failures": int(
            ((soak.outcomes["outcome"] == "failed") & soak.outcomes["resolved_by"].isna()).sum()
        ),
        "members": len(soak.members),
        "customers": len(soak.customers),
        "holders": len(soak.holders),
        "contract_mismatches": len(soak.problems),
        "mismatch_sample": soak.problems[:5],
    }

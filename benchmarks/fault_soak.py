"""Benchmark: a fault soak of the real Dagster sync job at full size, then at most one replay.

Usage: .venv/bin/python benchmarks/fault_soak.py [--parties 20000] [--seed 17] [--expire-every 2]
       [--retry-seconds 10] [--attempts 8] [--no-replay] [--json]

What it measures: both emulators in this process and the sync job executed in-process over the whole
demo history (jde_mc_pipeline_tests/defs/soak.py, the runner the suite's test_fault_soak.py uses at 1,500
parties). While it runs the AIS emulator answers 5 % of calls with a 500 or a dropped connection and a
thread expires every token every `--expire-every` seconds; Mailchimp answers 25 % of calls with a fault:
5 % each of 500, 503, the gateway's HTML 429 (Mailchimp has no plain JSON 429 fault kind), a reset before
and a reset after the write. Then faults off, `mailchimp_replay` once, and Mailchimp read back and compared
with the contract (jde_mc_pipeline_tests/sync/expected.py).

Printed: a table of run time, AIS calls and faults, token renewals, Mailchimp requests, faults and retries
(write attempts after the first, from the audit), failed outcomes after the run, replayed and resolved,
open failures, members and customers against the e-mails that should hold one, and the contract's
mismatches (0 expected). `--json`: that summary as JSON on the last line. Exit 1 when a promise broke.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import dagster as dg

from jde_mc_pipeline.defs.mailchimp.checks import RECONCILIATION
from jde_mc_pipeline.mapping.outcomes import CREATED
from jde_mc_pipeline_tests.defs.soak import (
    SoakPlan,
    outcomes_per_party,
    run_soak,
    summary,
)
from jde_mc_pipeline_tests.defs.sync_world import check_results


def soak_summary(plan: SoakPlan) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, dg.instance_for_test() as instance:
        soak = run_soak(plan, Path(folder), instance)
        numbers = summary(soak)
        counts = outcomes_per_party(soak)
        numbers["parties_pulled"] = len(soak.pulled)
        numbers["parties_without_one_outcome_per_target"] = int((counts != 1).sum())
        numbers["reconciliation_checks_passed"] = all(
            evaluation.passed
            for (_, name), evaluation in check_results(soak.sync).items()
            if name == RECONCILIATION
        )
        created = soak.outcomes.loc[soak.outcomes["outcome"] == CREATED]
        numbers["created_twice"] = int(created.duplicated(["target", "target_key"]).sum())
    return numbers


def healthy(numbers: dict[str, Any]) -> bool:
    """Every promise of the soak held (the same ones test_fault_soak.py asserts)."""
    return (
        numbers["sync_succeeded"]
        and numbers["replay_succeeded"] is not False
        and numbers["reconciliation_checks_passed"]
        and numbers["parties_without_one_outcome_per_target"] == 0
        and numbers["failed_without_payload"] == 0
        and numbers["open_failures"] == 0
        and numbers["created_twice"] == 0
        and numbers["members"] == numbers["customers"] == numbers["holders"]
        and numbers["contract_mismatches"] == 0
    )


def table(numbers: dict[str, Any]) -> str:
    rows = [
        ("parties (seed)", f"{numbers['parties']:,} ({numbers['seed']})"),
        ("sync run", f"{numbers['sync_seconds']:.1f} s, succeeded: {numbers['sync_succeeded']}"),
        ("AIS calls", f"{numbers['ais_calls']:,}"),
        ("AIS faults injected", f"{numbers['ais_faults']:,} {numbers['ais_faults_by_kind']}"),
        (
            "token expiry rounds / tokens expired",
            f"{numbers['token_expiry_rounds']} / {numbers['tokens_expired']}",
        ),
        ("AIS 444 answers / token renewals", f"{numbers['ais_444']} / {numbers['token_renewals']}"),
        ("Mailchimp requests", f"{numbers['mailchimp_requests']:,}"),
        ("Mailchimp faults", f"{numbers['mailchimp_faults']:,} {numbers['mailchimp_faults_by_kind']}"),
        ("Mailchimp retries (write attempts > 1)", f"{numbers['mailchimp_retries']:,}"),
        ("failed outcomes after the run", f"{numbers['failed_after_sync']:,}"),
        ("replay", f"{numbers['replay_seconds']:.1f} s, succeeded: {numbers['replay_succeeded']}"),
        (
            "replayed / resolved / still open",
            f"{numbers['replayed']} / {numbers['resolved']} / {numbers['open_failures']}",
        ),
        (
            "parties pulled / without 1 outcome per target",
            f"{numbers['parties_pulled']:,} / {numbers['parties_without_one_outcome_per_target']}",
        ),
        ("reconciliation checks passed", str(numbers["reconciliation_checks_passed"])),
        (
            "members / customers / e-mails held",
            f"{numbers['members']:,} / {numbers['customers']:,} / {numbers['holders']:,}",
        ),
        ("created twice", str(numbers["created_twice"])),
        ("contract mismatches", str(numbers["contract_mismatches"])),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parties", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--expire-every", type=float, default=2.0)
    parser.add_argument("--retry-seconds", type=float, default=10.0)
    parser.add_argument("--attempts", type=int, default=8)
    parser.add_argument("--no-replay", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    plan = SoakPlan(
        parties=args.parties,
        seed=args.seed,
        expire_every_s=args.expire_every,
        mailchimp_max_attempts=args.attempts,
        mailchimp_max_retry_seconds=args.retry_seconds,
        replay=not args.no_replay,
    )
    numbers = soak_summary(plan)
    print(table(numbers))
    for problem in numbers["mismatch_sample"]:
        print(f"  mismatch: {problem}")
    if args.json:
        print(json.dumps(numbers))
    return 0 if healthy(numbers) else 1


if __name__ == "__main__":
    sys.exit(main())

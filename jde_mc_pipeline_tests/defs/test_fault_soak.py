"""A fault soak of the real sync job, small enough for the suite: 1,500 demo parties synced through
`jde_to_mailchimp_sync` while both services misbehave at once, then one `mailchimp_replay` with the
faults off (the runner and its rates: jde_mc_pipeline_tests/defs/soak.py).

- AIS: 5 % of calls answer 500 or drop the connection, and every token is expired every 0.5 s (the
  full-size benchmark, benchmarks/fault_soak.py, uses 2 s; this run's extraction lasts about a second,
  so 2 s would expire no token in use). Pages of 100 rows make enough AIS calls to meet the faults.
- Mailchimp: 25 % of calls fault, 5 % each of 500, 503, the gateway's HTML 429, a reset before and a
  reset after the write was executed. Members go in chunks of 10 (~150 calls, so every fault kind is met
  with near certainty), and a call has 3 attempts within 5 s, so most faults are absorbed and a few
  calls usually give up (1.6 % each); their customers are held back, and the replay resolves them. How
  many give up depends on thread scheduling, and none may: the promises below hold either way, and the
  replay of failures is proven deterministically with Mailchimp fully down in sync/test_replay.py. (Two
  attempts would make the store's creation before the first write give up too often, failing the whole
  run's writes at once.)

The soak runs once per module; each test checks one promise. Which request meets which fault draw can
vary with thread scheduling; the promises hold whatever the draws, and the first test makes sure the
draws did shake the run (faults of every kind, token renewals, retries, failures left for the replay).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from jde_mc_pipeline.defs.mailchimp.checks import RECONCILIATION
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER
from jde_mc_pipeline_tests.defs.soak import (
    Soak,
    SoakPlan,
    outcomes_per_party,
    run_soak,
    summary,
)
from jde_mc_pipeline_tests.defs.sync_world import check_results

PLAN = SoakPlan(
    parties=1500,
    seed=19,
    expire_every_s=0.5,
    jde_page_size=100,
    member_chunk_size=10,
    mailchimp_max_attempts=3,
    mailchimp_max_retry_seconds=5.0,
)
SYNC_ASSETS = ("mailchimp_list_member_sync", "mailchimp_ecommerce_customer_sync")


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Soak]:
    with dg.instance_for_test() as instance:
        yield run_soak(PLAN, Path(tmp_path_factory.mktemp("fault_soak")), instance)


def test_the_run_was_shaken(soak: Soak) -> None:
    """Without faults the other tests would prove nothing: every kind was injected and retried."""
    numbers = summary(soak)
    assert {"faults_error", "faults_drop"} <= set(numbers["ais_faults_by_kind"])
    assert numbers["token_renewals"] >= 1 and numbers["ais_444"] >= 1
    assert set(numbers["mailchimp_faults_by_kind"]) == {f"fault_{kind}" for kind in PLAN.mailchimp_kinds}
    assert numbers["mailchimp_retries"] > 0


def test_the_sync_run_succeeds_and_its_reconciliation_checks_pass(soak: Soak) -> None:
    assert soak.sync.success
    checks = check_results(soak.sync)
    for asset in SYNC_ASSETS:
        assert checks[(asset, RECONCILIATION)].passed, asset


def test_every_party_pulled_has_exactly_one_outcome_per_target(soak: Soak) -> None:
    counts = outcomes_per_party(soak)
    assert len(soak.pulled) >= PLAN.parties
    assert counts[counts != 1].to_dict() == {}


def test_every_failure_is_recorded_with_its_payload_and_the_replay_resolves_it(soak: Soak) -> None:
    outcomes = soak.outcomes
    failed = outcomes.loc[(outcomes["run_id"] == soak.sync.run_id) & (outcomes["outcome"] == "failed")]
    assert failed["payload"].notna().all()
    assert soak.replay is not None and soak.replay.success
    assert (failed["resolved_by"] == soak.replay.run_id).all()
    still_open = outcomes.loc[(outcomes["outcome"] == "failed") & outcomes["resolved_by"].isna()]
    assert still_open[["run_id", "an8", "target", "reason"]].to_dict("records") == []


def test_no_email_yields_two_contacts(soak: Soak) -> None:
    """Resets after the write make the client resend what Mailchimp already executed; that must update
    the record it created, never create a second one (so a replayed write may well be `updated`)."""
    holders = set(soak.holders)
    assert set(soak.members) == holders
    customer_emails = [customer["email_address"] for customer in soak.customers.values()]
    assert sorted(customer_emails) == sorted(holders)
    created = soak.outcomes.loc[soak.outcomes["outcome"] == "created"]
    for target in (LIST_MEMBER, ECOMMERCE_CUSTOMER):
        keys = created.loc[created["target"] == target, "target_key"]
        assert keys[keys.duplicated()].tolist() == [], target


def test_mailchimp_equals_the_contract(soak: Soak) -> None:
    assert soak.problems == []

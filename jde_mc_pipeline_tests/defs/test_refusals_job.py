"""The job `jde_to_mailchimp_sync` re-run over partitions that hold a party Mailchimp refused for good:
the re-run is write-free (mapping.md §5: a refusal for good is not retried).

One in-scope party of the demo data gets an example.com e-mail (the Mailchimp emulator refuses it as
fake by default), stamped on SYNC_DAY so that it is pulled by the range.
"""

from __future__ import annotations

import requests

from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.jde.extract import jde_now
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

FAKE_EMAIL = "refused.party@example.com"


def give_a_fake_email(world: SyncWorld) -> int:
    """Sets every e-mail row of one party that alone holds its e-mail to FAKE_EMAIL; returns its AN8."""
    found = expected.parties(world.jde.url, jde_now("UTC").day)
    alone = sorted(group[0].an8 for group in expected.sharing(found).values() if len(group) == 1)
    an8 = alone[0]
    reply = requests.get(f"{world.jde.url}/_emulator/rows/F01151", timeout=30)
    reply.raise_for_status()
    rows = [row for row in reply.json()["rows"] if row["EAAN8"] == an8]
    assert rows
    stamp = {"EAUPMJ": to_julian(SYNC_DAY), "EAUPMT": 100000}
    support.jde_upsert(world.jde.url, "F01151", [{**row, "EAEMAL": FAKE_EMAIL, **stamp} for row in rows])
    return an8


def outcomes_of(world: SyncWorld, run_id: str, an8: int) -> dict[str, tuple[str, str]]:
    found = support.rows(
        world.store,
        "SELECT target, outcome, reason FROM sync_outcomes WHERE run_id = ? AND an8 = ?",
        [run_id, an8],
    )
    return {target: (outcome, reason) for target, outcome, reason in found}


def test_a_rerun_over_a_refused_party_makes_no_mailchimp_write(sync_world: SyncWorld) -> None:
    an8 = give_a_fake_email(sync_world)
    first = sync_world.run(START_DATE, SYNC_DAY)
    assert first.success
    refused = outcomes_of(sync_world, first.run_id, an8)
    assert set(refused) == set(TARGETS)
    assert all(outcome.startswith("rejected:") for outcome, _ in refused.values()), refused
    writes = support.write_requests(sync_world.mailchimp)

    again = sync_world.run(START_DATE, SYNC_DAY)

    assert again.success
    assert support.write_requests(sync_world.mailchimp) == writes
    reason = f"refused before in run {first.run_id}; not re-sent until its JDE data changes"
    assert outcomes_of(sync_world, again.run_id, an8) == {
        target: (outcome, reason) for target, (outcome, _) in refused.items()
    }

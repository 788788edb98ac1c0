"""An increment's Mailchimp requests do not grow with the store (mailchimp/ecommerce.py), through the
Dagster job, over real HTTP and a real DuckDB file.

More than 100 customers change (every party renamed in JDE), so they go through `/batches`. The customers
the synced state holds are not read before their write: the increment reads no customer at all, where it
used to read every page of the store's customers. When the state has lost them but Mailchimp still
holds them, only they are read, and Mailchimp's answer decides: `updated`, never a duplicate.
"""

from __future__ import annotations

from collections import Counter

import requests

from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

CUSTOMER_READS = (
    "GET /ecommerce/stores/{store_id}/customers",
    "GET /ecommerce/stores/{store_id}/customers/{customer_id}",
)


def requests_by_route(world: SyncWorld) -> Counter[str]:
    stats = support.control(world.mailchimp, "GET", "stats")["requests"]
    return Counter({route: sum(by_status.values()) for route, by_status in stats.items()})


def rename_every_party(world: SyncWorld) -> None:
    """Every party's F0101.ALPH changed, stamped at the emulator's clock (SYNC_DAY)."""
    reply = requests.get(f"{world.jde.url}/_emulator/rows/F0101", timeout=30)
    reply.raise_for_status()
    renamed = [
        {"ABAN8": row["ABAN8"], "ABALPH": f"{row['ABALPH']} Renamed"[:40]} for row in reply.json()["rows"]
    ]
    support.jde_upsert(world.jde.url, "F0101", renamed)


def customer_outcomes(world: SyncWorld, run_id: str) -> Counter[str]:
    found = support.rows(
        world.store,
        "SELECT outcome, count(*) FROM sync_outcomes WHERE run_id = ? AND target = 'ecommerce_customer' "
        "AND payload IS NOT NULL GROUP BY outcome",
        [run_id],
    )
    return Counter(dict(found))


def test_an_increment_reads_none_of_the_customers_the_state_holds(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    _, stored = expected.mailchimp_state(sync_world.mailchimp)
    rename_every_party(sync_world)
    before = requests_by_route(sync_world)

    increment = sync_world.run(SYNC_DAY, SYNC_DAY)

    assert increment.success
    made = requests_by_route(sync_world) - before
    assert not {route: made[route] for route in CUSTOMER_READS if made[route]}, made
    assert made["POST /batches"] >= 1  # more than 100 customers: the batch path
    outcomes = customer_outcomes(sync_world, increment.run_id)
    assert set(outcomes) == {"updated"} and outcomes["updated"] > 100
    _, after = expected.mailchimp_state(sync_world.mailchimp)
    assert set(after) == set(stored)
    assert sum(c["company"] != stored[key]["company"] for key, c in after.items()) == outcomes["updated"]


def test_customers_the_state_lost_are_read_and_updated_not_duplicated(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    _, stored = expected.mailchimp_state(sync_world.mailchimp)
    with sync_world.store.connect() as conn:
        conn.execute("DELETE FROM synced_state WHERE target = 'ecommerce_customer'")
    rename_every_party(sync_world)
    before = requests_by_route(sync_world)

    increment = sync_world.run(SYNC_DAY, SYNC_DAY)

    assert increment.success
    made = requests_by_route(sync_world) - before
    assert made[CUSTOMER_READS[0]] == 1  # the first page holds the test's whole store
    assert made["DELETE /ecommerce/stores/{store_id}/customers/{customer_id}"] == 0
    outcomes = customer_outcomes(sync_world, increment.run_id)
    assert set(outcomes) == {"updated"} and outcomes["updated"] > 100
    _, after = expected.mailchimp_state(sync_world.mailchimp)
    assert set(after) == set(stored)

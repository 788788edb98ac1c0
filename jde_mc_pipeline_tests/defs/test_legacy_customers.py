"""A store synced by the first release, whose customers are keyed by the AN8, moves to e-mail ids on the
next sync (mapping.md §4), through the Dagster job, over real HTTP and a real DuckDB file.

The first release's state is made from a run of today's code: every customer is re-written under its
AN8 (read back from Mailchimp, deleted, put again with the AN8 as id) and `synced_state` says so, as an
audit file of that release would (which has no `sync_milestones` and no recorded migration either). The
next run of a day without any JDE change pulls the parties of those customers, writes each under its
e-mail's hash and deletes the AN8 id: nothing is lost, and the run after that writes nothing. The move
is recorded once done, and no later run looks for legacy ids again (audit/legacy.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from jde_mc_pipeline.audit.legacy import LEGACY_IDS_MOVED
from jde_mc_pipeline.audit.schema import MIGRATION_TABLE
from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

CUSTOMER_PAGES = "GET /ecommerce/stores/{store_id}/customers"


def to_first_release(world: SyncWorld) -> dict[str, dict]:
    """Customers and state as the first release left them; returns the customers by e-mail."""
    _, customers = expected.mailchimp_state(world.mailchimp)
    ids = dict(
        support.rows(
            world.store, "SELECT target_key, an8 FROM synced_state WHERE target = 'ecommerce_customer'"
        )
    )
    path = "/ecommerce/stores/jde-e1/customers"
    for customer in customers.values():
        an8 = str(ids[customer["id"]])
        assert support.api(world.mailchimp, "DELETE", f"{path}/{customer['id']}").status_code == 204
        body = {
            k: customer[k] for k in ("email_address", "opt_in_status", "company", "first_name", "last_name")
        }
        body["address"] = {k: v for k, v in customer["address"].items() if v}
        assert support.api(world.mailchimp, "PUT", f"{path}/{an8}", {**body, "id": an8}).status_code == 200
    with world.store.connect() as conn:
        conn.execute(
            "UPDATE synced_state SET target_key = an8::VARCHAR, an8s = [an8] "
            "WHERE target = 'ecommerce_customer'"
        )
        conn.execute("DROP TABLE sync_milestones")
        conn.execute(f"DROP TABLE {MIGRATION_TABLE}")  # that release recorded no migration either
    return {c["email_address"]: c for c in customers.values()}


def test_legacy_customer_ids_are_moved_on_the_next_sync(sync_world: SyncWorld) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    before = to_first_release(sync_world)
    quiet = SYNC_DAY + dt.timedelta(days=1)  # no JDE change on this day

    moved = sync_world.run(quiet, quiet)

    assert moved.success
    _, customers = expected.mailchimp_state(sync_world.mailchimp)
    after = {c["email_address"]: c for c in customers.values()}
    assert set(after) == set(before)  # not one customer lost
    for email, customer in after.items():
        assert customer["id"] == expected.subscriber_hash(email)
        assert (customer["company"], customer["last_name"]) == (
            before[email]["company"],
            before[email]["last_name"],
        )
    assert support.rows(
        sync_world.store,
        "SELECT count(*) FROM synced_state WHERE target = 'ecommerce_customer' AND target_key <> md5(email)",
    ) == [(0,)]
    moves = support.rows(
        sync_world.store,
        "SELECT outcome, count(*) FROM sync_outcomes WHERE run_id = ? AND target = 'ecommerce_customer' "
        "AND payload IS NOT NULL GROUP BY outcome",
        [moved.run_id],
    )
    assert moves == [("updated", len(before))]
    writes = support.write_requests(sync_world.mailchimp)

    again = sync_world.run(quiet, quiet)

    assert again.success and support.write_requests(sync_world.mailchimp) == writes


def test_the_move_is_recorded_once_and_never_looked_for_again(
    sync_world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sync_world.run(START_DATE, SYNC_DAY).success
    before = to_first_release(sync_world)
    quiet = SYNC_DAY + dt.timedelta(days=1)
    reads = support.control(sync_world.mailchimp, "GET", "stats")["requests"].get(CUSTOMER_PAGES, {})

    moved = sync_world.run(quiet, quiet)

    assert moved.success
    assert support.rows(sync_world.store, "SELECT name, run_id FROM sync_milestones") == [
        (LEGACY_IDS_MOVED, moved.run_id)
    ]
    pages = support.control(sync_world.mailchimp, "GET", "stats")["requests"][CUSTOMER_PAGES]
    assert sum(pages.values()) - sum(reads.values()) == 1  # one page holds the test's whole store
    monkeypatch.setattr(DuckDBSyncedState, "legacy_customers", no_scan)
    writes = support.write_requests(sync_world.mailchimp)

    again = sync_world.run(quiet, quiet)

    assert again.success and support.write_requests(sync_world.mailchimp) == writes
    assert support.control(sync_world.mailchimp, "GET", "stats")["requests"][CUSTOMER_PAGES] == pages
    _, customers = expected.mailchimp_state(sync_world.mailchimp)
    assert {c["email_address"] for c in customers.values()} == set(before)


def no_scan(self: DuckDBSyncedState) -> None:
    raise AssertionError("legacy customer ids looked for after their move was recorded")

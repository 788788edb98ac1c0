"""`mailchimp_replay_sensor`: a sync with failed writes, then a sync that reaches Mailchimp again, makes it
request one replay; the replay run it requests repairs Mailchimp; nothing is requested while Mailchimp is
still down, or twice for the same failures."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.automation.replay_sensor import decide
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.sync import support

DOWN = {"fault_rate": 1.0, "kinds": ["503"]}


def test_the_decision_waits_for_a_healthy_sync_after_failures() -> None:
    assert decide(False, [("a", False, True)]) == (False, None)  # nothing failed: nothing to replay
    assert decide(False, [("a", True, False), ("b", True, False)]) == (True, None)  # still down
    assert decide(False, [("a", True, False), ("b", False, True)]) == (False, "b")
    assert decide(True, [("c", False, False)]) == (True, None)  # no proof that Mailchimp answers
    assert decide(True, [("c", False, True), ("d", True, False)]) == (True, None)  # down again after c


def evaluate(world: SyncWorld, cursor: str | None) -> dg.SensorResult:
    sensor = world.definitions.resolve_sensor_def("mailchimp_replay_sensor")
    context = dg.build_sensor_context(instance=world.instance, cursor=cursor)
    return sensor(context)


def test_a_healthy_sync_after_an_outage_requests_the_replay_that_repairs_mailchimp(
    sync_world: SyncWorld,
) -> None:
    support.control(sync_world.mailchimp, "POST", "faults", DOWN)
    assert sync_world.run().success  # the writes are recorded failed; the run itself succeeds
    result = evaluate(sync_world, None)
    assert result.run_requests == []
    assert sync_world.run(SYNC_DAY, SYNC_DAY).success  # still down
    result = evaluate(sync_world, result.cursor)
    assert result.run_requests == []

    support.control(sync_world.mailchimp, "POST", "faults", {"fault_rate": 0.0})
    assert sync_world.run(SYNC_DAY, SYNC_DAY).success  # reaches Mailchimp; this day holds little
    result = evaluate(sync_world, result.cursor)
    [request] = result.run_requests
    assert not evaluate(sync_world, result.cursor).run_requests  # requested once

    replay = sync_world.definitions.resolve_job_def("mailchimp_replay").execute_in_process(
        instance=sync_world.instance, tags=request.tags
    )
    assert replay.success
    [(open_failures,)] = support.rows(
        sync_world.store,
        "SELECT count(*) FROM sync_outcomes WHERE outcome = 'failed' AND resolved_by IS NULL",
    )
    assert open_failures == 0

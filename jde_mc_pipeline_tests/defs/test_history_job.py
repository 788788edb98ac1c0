"""The job `record_history` from the UI side: a sync of the demo data, then a lookup materializes
`record_history_report` with the same story `jde-mc history` prints; with `live`, a marketer's edit in
Mailchimp shows as a difference; an unknown AN8 fails the run with a clear message."""

from __future__ import annotations

import json

import dagster as dg

from jde_mc_pipeline.cli.history import run_history
from jde_mc_pipeline.defs.history.report import HISTORY_JOB, REPORT_KEY
from jde_mc_pipeline_tests.defs.sync_world import SyncWorld
from jde_mc_pipeline_tests.defs.test_dry_run_job import cli_env
from jde_mc_pipeline_tests.sync import support


def look_up(world: SyncWorld, record: str, live: bool = False) -> dg.ExecuteInProcessResult:
    config = {"ops": {"record_history_report": {"config": {"an8_or_email": record, "live": live}}}}
    return world.definitions.resolve_job_def(HISTORY_JOB).execute_in_process(
        run_config=config, instance=world.instance, raise_on_error=False
    )


def report(world: SyncWorld) -> dict[str, dg.MetadataValue]:
    event = world.instance.get_latest_materialization_event(REPORT_KEY)
    assert event is not None and event.asset_materialization is not None
    return event.asset_materialization.metadata


def test_a_lookup_materializes_the_record_history_report(sync_world: SyncWorld, capsys) -> None:
    synced = sync_world.run()
    assert synced.success
    [(an8, email, payload)] = support.rows(
        sync_world.store,
        "SELECT an8, payload->>'email_address', CAST(payload AS VARCHAR) FROM sync_outcomes "
        "WHERE target = 'list_member' AND outcome = 'created' ORDER BY an8 LIMIT 1",
    )
    writes = support.write_requests(sync_world.mailchimp)

    looked = look_up(sync_world, str(an8), live=True)

    assert looked.success
    shown = report(sync_world)
    assert shown["asked"].value == str(an8) and shown["an8s"].value == str(an8)
    assert shown["list_member_last_synced"].value.endswith(f"run {synced.run_id}: created")
    assert shown["list_member_last_checked"].value == shown["list_member_last_synced"].value
    assert shown["list_member_outcomes"].value == 1 and shown["list_member_live_differences"].value == 0
    history = shown["history"].value
    assert history["targets"]["list_member"]["last_synced"]["email"] == email
    text = shown["report"].value
    assert text.startswith("```text\n") and f"by run {synced.run_id} (jde_to_mailchimp_sync" in text
    code = run_history(str(an8), cli_env(sync_world))  # the command tells the same story, without live
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and printed[0] == text.splitlines()[1] and set(printed) <= set(text.splitlines())
    assert support.write_requests(sync_world.mailchimp) == writes  # GETs only

    field = "COMPANY" if "COMPANY" in json.loads(payload)["merge_fields"] else "JDEAN8"
    hash_ = history["targets"]["list_member"]["target_key"]
    support.control(
        sync_world.mailchimp, "PATCH", f"lists/{sync_world.mailchimp.list_id}/members/{hash_}",
        {"merge_fields": {field: "Edited By Hand"}},
    )  # fmt: skip

    again = look_up(sync_world, email.upper(), live=True)

    assert again.success
    shown = report(sync_world)
    assert shown["asked"].value == email.upper() and shown["list_member_live_differences"].value == 1
    [differs] = [
        f for f in shown["history"].value["targets"]["list_member"]["live"]["fields"] if f["differs"]
    ]
    assert differs["field"] == f"merge_fields.{field}" and differs["theirs"] == "Edited By Hand"
    assert "<- differs" in shown["report"].value


def test_an_unknown_party_fails_the_lookup_with_its_reason(sync_world: SyncWorld) -> None:
    assert sync_world.run().success

    looked = look_up(sync_world, "99999999")

    assert not looked.success
    [failure] = [e for e in looked.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "knows no party with AN8 99999999" in failure.event_specific_data.error.message
    assert sync_world.instance.get_latest_materialization_event(REPORT_KEY) is None

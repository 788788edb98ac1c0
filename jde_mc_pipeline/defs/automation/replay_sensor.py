"""`mailchimp_replay_sensor`: after an outage, the failed writes are re-sent without a human.

Why: a write that outlived the client's retries is recorded `failed` and waits for `mailchimp_replay`.
Later syncs of the same days re-send what changed, but the failures of older partitions would wait for
someone to launch the replay. The sensor watches the two Mailchimp sync assets' materializations (their
metadata, not the DuckDB file, which a sensor never opens): a sync that recorded failures
(`run_failed` > 0) marks failures pending; the next sync that reached Mailchimp and failed nothing
(`mailchimp_reachable` and `run_failed` = 0) shows that Mailchimp answers again, and the sensor requests
one replay run (every unresolved failure). The replay is in the `mailchimp` pool, so it queues behind
the syncs. Its cursor (JSON: the last materialization read, and whether failures are pending) is visible
under Automation.

What it cannot see: a replay whose writes fail again leaves its failures open until the next sync with
failures and then a healthy one, or until someone launches the replay.
"""

from __future__ import annotations

import json

import dagster as dg

from jde_mc_pipeline.sync.replay import REPLAY_JOB

SYNC_ASSETS = (dg.AssetKey("mailchimp_list_member_sync"), dg.AssetKey("mailchimp_ecommerce_customer_sync"))
PAGE = 1000


def _value(record: dg.EventLogRecord, name: str) -> object:
    materialization = record.asset_materialization
    entry = materialization.metadata.get(name) if materialization is not None else None
    return entry.value if entry is not None else None


def run_verdicts(records: list[dg.EventLogRecord]) -> list[tuple[str, bool, bool]]:
    """(run id, failed something, reached Mailchimp) per run, in the order the runs materialized (each
    partition of a range run repeats the run's totals: one verdict per run and asset is enough)."""
    seen: dict[str, tuple[str, bool, bool]] = {}
    for record in sorted(records, key=lambda r: r.storage_id):
        failed = int(_value(record, "run_failed") or 0) > 0
        reached = bool(_value(record, "mailchimp_reachable"))
        earlier = seen.get(record.run_id)
        seen[record.run_id] = (
            record.run_id,
            failed or (earlier is not None and earlier[1]),
            reached and (earlier is None or earlier[2]),
        )
    return list(seen.values())


def decide(pending: bool, verdicts: list[tuple[str, bool, bool]]) -> tuple[bool, str | None]:
    """(failures still pending, run id after which to replay, or None)."""
    replay_after = None
    for run_id, failed, reached in verdicts:
        if failed:
            pending, replay_after = True, None
        elif reached and pending:
            pending, replay_after = False, run_id
    return pending, replay_after


def build_replay_sensor(running: bool) -> dg.SensorDefinition:
    @dg.sensor(
        name="mailchimp_replay_sensor",
        job_name=REPLAY_JOB,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED,
        description="Launches mailchimp_replay once a sync reaches Mailchimp again after syncs that recorded "
        "failed writes.",
    )
    def mailchimp_replay_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state = json.loads(context.cursor) if context.cursor else {"after": 0, "pending": False}
        records: list[dg.EventLogRecord] = []
        for key in SYNC_ASSETS:
            found = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=state["after"]),
                limit=PAGE,
                ascending=True,
            )
            records.extend(found.records)
        if len(records) >= PAGE:  # read the rest next tick, from the oldest page's end
            records = sorted(records, key=lambda r: r.storage_id)[:PAGE]
        pending, replay_after = decide(state["pending"], run_verdicts(records))
        after = max((r.storage_id for r in records), default=state["after"])
        cursor = json.dumps({"after": after, "pending": pending})
        if replay_after is None:
            return dg.SensorResult(
                skip_reason="no failed writes waiting for a healthy Mailchimp", cursor=cursor
            )
        context.log.info(f"run {replay_after} reached Mailchimp after syncs with failed writes: replaying")
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"after-{replay_after}")], cursor=cursor)

    return mailchimp_replay_sensor

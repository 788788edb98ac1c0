"""The AuditRecorder writes Mailchimp write attempts to DuckDB as they happen, and never the API key."""

from __future__ import annotations

import threading
import time

from jde_mc_pipeline.sync.recording import AuditRecorder
from jde_mc_pipeline.sync.writes import prepare_mailchimp
from jde_mc_pipeline_tests.sync.support import rows, write_requests

RELATIONS = (
    "sync_runs",
    "jde_pulls",
    "mapped_values",
    "mailchimp_writes",
    "sync_outcomes",
    "synced_state",
    "synced_rejections",
)


def test_writes_reach_the_file_before_the_recorder_is_closed(store, settings, mc_server, mc_client):
    recorder = AuditRecorder(store, "rec-1", flush_every=1)
    mc_client.recorder = recorder

    prepare_mailchimp(mc_client, settings)

    recorded = _recorded_within(store, "rec-1", write_requests(mc_server), seconds=10)
    assert len(recorded) == write_requests(mc_server) == recorder.recorded
    assert {(method, status) for method, _, status in recorded} == {("POST", 200)}
    assert {path for _, path, _ in recorded} == {
        f"/lists/{mc_server.list_id}/merge-fields",
        "/ecommerce/stores",
    }


def _recorded_within(store, run_id: str, expected: int, seconds: float) -> list[tuple]:
    """The run's recorded writes once `expected` are there (the recorder's own thread writes them)."""
    deadline = time.monotonic() + seconds
    while True:
        found = rows(store, f"SELECT method, path, status FROM mailchimp_writes WHERE run_id = '{run_id}'")
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_flush_never_runs_in_the_thread_that_made_the_request(store, settings, mc_server, mc_client):
    flushed_in: list[str] = []
    recorder = AuditRecorder(store, "rec-2", flush_every=1)
    write = store.record_writes

    def record_writes(run_id, events):
        flushed_in.append(threading.current_thread().name)
        return write(run_id, events)

    store.record_writes = record_writes
    mc_client.recorder = recorder

    prepare_mailchimp(mc_client, settings)
    recorded = _recorded_within(store, "rec-2", write_requests(mc_server), seconds=10)
    recorder.close()

    assert len(recorded) == recorder.recorded == write_requests(mc_server)
    assert flushed_in and set(flushed_in) == {"audit-recorder"}


def test_reads_are_left_out_unless_asked_for(store, settings, mc_server, mc_client):
    with AuditRecorder(store, "reads", include_reads=True) as recorder:
        mc_client.recorder = recorder
        mc_client.ping()
    mc_client.recorder = AuditRecorder(store, "no-reads")
    mc_client.ping()
    mc_client.recorder.close()

    assert rows(store, "SELECT run_id, method, path FROM mailchimp_writes") == [("reads", "GET", "/ping")]


def test_a_whole_sync_leaves_no_secret_in_the_audit(sync, store, mc_server):
    sync("r1")

    assert (
        rows(store, "SELECT count(*) FROM mailchimp_writes WHERE run_id = 'r1' AND method = 'POST'")[0][0] > 0
    )
    key_part = mc_server.api_key.rpartition("-")[0]
    for relation in RELATIONS:
        text = str(rows(store, f"SELECT * FROM {relation}"))
        assert key_part not in text, relation
        assert "Authorization" not in text and "Basic " not in text, relation
    assert key_part.encode() not in store.path.read_bytes()

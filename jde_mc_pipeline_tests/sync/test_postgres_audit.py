"""A real sync (both emulators, the whole `sync_batch`) with its audit in PostgreSQL: every party gets its
outcomes, a second run reads the synced state back and writes nothing, and docs/audit.md's questions
answer on what the sync recorded."""

from __future__ import annotations

from jde_mc_pipeline.audit.backends import open_store
from jde_mc_pipeline.audit.postgres.migrations import upgrade
from jde_mc_pipeline_tests.automation.readme import audit_queries
from jde_mc_pipeline_tests.sync.support import write_requests


def test_a_sync_on_postgres_records_its_audit_and_a_second_run_writes_nothing(sync, mc_server, postgres_url):
    upgrade(postgres_url)
    first = sync("r1", store=open_store(postgres_url))
    assert first.reconciliation.ok, first.reconciliation.describe()
    writes = write_requests(mc_server)

    second = sync("r2", store=open_store(postgres_url))

    assert write_requests(mc_server) == writes
    sent = first.outcomes.loc[first.outcomes["outcome"] == "created", ["an8", "target"]]
    again = second.outcomes.merge(sent, on=["an8", "target"])
    assert len(again) == len(sent) > 0 and set(again["outcome"]) == {"unchanged"}

    store = open_store(postgres_url, read_only=True)
    runs = store.query("SELECT run_id, status FROM sync_runs ORDER BY run_id")
    assert runs.values.tolist() == [["r1", "succeeded"], ["r2", "succeeded"]]
    created = sent.iloc[0]
    answers = [
        store.query(q.replace("'R'", "'r1'").replace("1001", str(created["an8"]))) for q in audit_queries()
    ]
    history, pulled = answers[0], answers[1]
    assert history["run_id"].tolist().count("r1") == 2 and set(history["run_id"]) == {"r1", "r2"}
    assert len(pulled) >= 2 and set(pulled["run_id"]) == {"r1", "r2"}
    assert answers[2].empty and answers[3].empty  # nothing failed in r1

"""A multi-run backfill: one `dagster asset materialize` process per partition, four at once, against one
audit DuckDB file and one Dagster instance (the project's dagster.yaml). Runs `benchmarks/backfill.py`
small (4 partitions; the 30-partition measurement is the benchmark's default) and checks what it left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 4


def test_parallel_runs_share_the_audit_file_without_lock_errors(tmp_path: Path) -> None:
    command = [sys.executable, str(ROOT / "benchmarks" / "backfill.py"), "--partitions", str(PARTITIONS)]
    command += ["--parallel", "4", "--parties", "200"]
    done = subprocess.run(
        [*command, "--workdir", str(tmp_path), "--json"], capture_output=True, text=True, check=False
    )
    summary = json.loads(done.stdout.splitlines()[-1])

    assert done.returncode == 0, done.stdout[-3000:]
    assert [run["returncode"] for run in summary["runs"]] == [0] * PARTITIONS
    assert sum(run["lock_errors"] for run in summary["runs"]) == 0
    assert summary["outcomes"]["lost"] == summary["outcomes"]["duplicated"] == 0
    assert summary["outcomes"]["outcomes"] >= 400  # 200 parties × 2 targets in the initial load
    with duckdb.connect(str(tmp_path / "audit_trail.duckdb"), read_only=True) as conn:
        runs = conn.execute("SELECT partition_start, status FROM sync_runs ORDER BY 1").fetchall()
        outcome_runs = conn.execute("SELECT count(DISTINCT run_id) FROM sync_outcomes").fetchone()[0]
    assert [start for start, _ in runs] == summary["partitions"]  # every run is in the audit
    assert "failed" not in {status for _, status in runs}
    assert outcome_runs >= 1  # the initial load wrote outcomes (later days may hold no party)
    assert summary["mailchimp_steps_at_once"] == 1  # the mailchimp pool held across the processes
    assert summary["mailchimp_max_concurrent"] <= 10
    assert summary["mailchimp_429"] == 0

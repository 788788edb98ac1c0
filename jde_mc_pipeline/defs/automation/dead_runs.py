"""`jde_dead_run_sensor`: a run whose process is gone is marked failed and its pool slots are freed.

Why: with Dagster's default run launcher (each run a local subprocess of the code server: `dagster dev`
and any single-machine deployment) run monitoring cannot check a run worker's health, so a run killed
with SIGKILL (the OOM killer, a reboot, `kill -9`) stays STARTED for ever. It keeps its `mailchimp` pool
slot, and with the pools' run granularity (dagster.yaml) every queued sync waits behind it.
`run_monitoring.free_slots_after_run_end_seconds` cannot help: the run never ends. See
https://docs.dagster.io/deployment/execution/run-monitoring.

What it does, every `DEAD_RUN_INTERVAL_SECONDS`: for each run STARTED or CANCELING, it reads the pid of
the process executing the run (the first engine event that carries one: "Started process for run",
or "Executing steps in process" for a run executed in a CLI process), and when that process no longer
exists, or the pid now belongs to a process started after the run (pid reuse), it reports the run
failed (canceled, when it was being canceled) and frees its concurrency slots. The next queued run
then starts; the interrupted run's `sync_runs` row is marked `interrupted` by the next run of the code
location that opens the audit store (audit/store.py), since a sensor never opens the DuckDB file.

Where it can judge: sensors are evaluated by the code server, the process that spawned the run workers,
so their pids are local. A run whose `jde_mc/host` tag (set by its first step) names another machine
is left alone, and so is everything when the run launcher supports health checks (Docker, Kubernetes:
Dagster's run monitoring covers them). A run without a pid event yet (still starting) is left to run
monitoring's `start_timeout_seconds`.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from jde_mc_pipeline.defs.run_tags import HOST_TAG, this_host

DEAD_RUN_INTERVAL_SECONDS = 30
IN_PROGRESS = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def run_process_id(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process executing the run, from its first engine event that names one."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        data = event.engine_event_data if event is not None else None
        pid = data.metadata.get("pid") if data is not None else None
        if pid is not None:
            return int(pid.value)
    return None


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("no btime in /proc/stat")


def process_start_time(pid: int) -> float | None:
    """When process `pid` started (Unix seconds), None when there is no such process. On a system
    without /proc only existence can be checked (start time 0: never taken for a reused pid)."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/stat").exists():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        if fields[0] == "Z":  # a zombie has exited; only its parent has not collected it yet
            return None
        return _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return 0.0


def is_dead(instance: dg.DagsterInstance, record: dg.RunRecord) -> str | None:
    """Why the run's process is gone, or None when it runs (or this process cannot tell)."""
    run = record.dagster_run
    host = run.tags.get(HOST_TAG)
    if host is not None and host != this_host():
        return None
    pid = run_process_id(instance, run.run_id)
    if pid is None:
        return None
    started = process_start_time(pid)
    if started is None:
        return f"its process (pid {pid}) no longer exists"
    run_start = record.start_time or record.create_timestamp.timestamp()
    if started > run_start + 1:  # a second of slack: clock ticks are coarse
        return f"pid {pid} now belongs to a process started after the run"
    return None


def reap(instance: dg.DagsterInstance) -> list[tuple[str, str]]:
    """Mark every dead run failed (or canceled) and free its slots; (run id, reason) per run."""
    if instance.run_launcher.supports_check_run_worker_health:
        return []
    reaped = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        reason = is_dead(instance, record)
        if reason is None:
            continue
        run = record.dagster_run
        message = f"jde_dead_run_sensor: {reason}; the run was interrupted (killed, out of memory, reboot)"
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message=message)
        else:
            instance.report_run_failed(run, message=message)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append((run.run_id, reason))
    return reaped


def build_dead_run_sensor() -> dg.SensorDefinition:
    """Always running: it only ever acts on runs that can no longer run."""

    @dg.sensor(
        name="jde_dead_run_sensor",
        minimum_interval_seconds=DEAD_RUN_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose process is gone (SIGKILL, out of memory, reboot) and frees "
        "their pool slots, so the queue moves on.",
    )
    def jde_dead_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        reaped = reap(context.instance)
        for run_id, reason in reaped:
            context.log.warning(f"run {run_id} marked failed: {reason}; its pool slots are free")
        if not reaped:
            return dg.SkipReason("every run in progress has a live process")
        return dg.SkipReason(f"{len(reaped)} dead run(s) marked failed: {', '.join(r for r, _ in reaped)}")

    return jde_dead_run_sensor

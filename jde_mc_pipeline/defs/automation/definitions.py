"""The automation part of the code location: the jobs (both asset jobs and the scope reconciliation), the
sensors (changes, dead runs, replays) and the schedules, built from the deployment settings when the
definitions load."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.automation.dead_runs import build_dead_run_sensor
from jde_mc_pipeline.defs.automation.jobs import build_jobs
from jde_mc_pipeline.defs.automation.replay_sensor import build_replay_sensor
from jde_mc_pipeline.defs.automation.schedules import build_scope_schedule, build_sync_schedule
from jde_mc_pipeline.defs.automation.scope_reconciliation import build_scope_job
from jde_mc_pipeline.defs.automation.sensors import build_change_sensor
from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env


def build(deployment: Deployment) -> dg.Definitions:
    """The executor is every job's (the implicit asset job's too): steps run one after the other in the
    run's process. The graph is a line, so a process per step bought no parallelism and cost a Python
    start and the imports per step: 20,000 parties took 37 s instead of 21 s, with a higher peak
    (benchmarks/end_to_end.py)."""
    return dg.Definitions(
        executor=dg.in_process_executor,
        jobs=[*build_jobs(), build_scope_job()],
        schedules=[build_sync_schedule(deployment), build_scope_schedule(deployment)],
        sensors=[
            build_change_sensor(deployment),
            build_dead_run_sensor(),
            build_replay_sensor(deployment.automation_running),
        ],
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(deployment_from_env())

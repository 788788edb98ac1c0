"""The history part of the code location: the job `record_history` (report.py)."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env
from jde_mc_pipeline.defs.history.report import build_history_job


def build(deployment: Deployment) -> dg.Definitions:
    """The job needs no deployment setting; it takes one for the same shape as the other parts."""
    del deployment
    return dg.Definitions(jobs=[build_history_job()])


@dg.definitions
def defs() -> dg.Definitions:
    return build(deployment_from_env())

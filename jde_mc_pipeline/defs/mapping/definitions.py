"""The mapping part of the code location, built from the deployment settings when the definitions load."""

from __future__ import annotations

import dagster as dg

from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env
from jde_mc_pipeline.defs.mapping.assets import build_map_parties
from jde_mc_pipeline.defs.partitions import upmj_partitions


def build(deployment: Deployment) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.with_source_code_references([build_map_parties(upmj_partitions(deployment))])
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build(deployment_from_env())

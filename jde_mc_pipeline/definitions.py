"""The code location: `defs` loads every part under jde_mc_pipeline/defs/ (a `dg` project).

`dg dev`, `dg check defs` and `dg list defs` find it through `[tool.dg]` in pyproject.toml; `dagster dev`
through workspace.yaml, and `dagster definitions validate -m jde_mc_pipeline.definitions` directly.
Nothing is read when a module is imported: each part's `@dg.definitions` function reads the deployment
settings and the resources from the environment when the code location loads, so a missing
`JDE_START_DATE` is the code location's load error ("JDE_START_DATE is not set"), shown in the UI.

`build_definitions` builds the same definitions from values instead of the environment: the tests load
the pipeline under several configurations in one process with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from jde_mc_pipeline.defs.automation import definitions as automation
from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.drift import definitions as drift
from jde_mc_pipeline.defs.history import definitions as history
from jde_mc_pipeline.defs.jde import definitions as jde
from jde_mc_pipeline.defs.mailchimp import definitions as mailchimp
from jde_mc_pipeline.defs.mapping import definitions as mapping


def build_definitions(deployment: Deployment, resources: Mapping[str, Any]) -> dg.Definitions:
    """Every part of defs/ built for `deployment`, bound to `resources` (as `defs` does from the
    environment)."""
    return dg.Definitions.merge(
        jde.build(deployment),
        mapping.build(deployment),
        mailchimp.build(deployment),
        automation.build(deployment),
        history.build(deployment),
        drift.build(deployment),
        dg.Definitions(resources=dict(resources)),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, from the defs folder and the environment."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)

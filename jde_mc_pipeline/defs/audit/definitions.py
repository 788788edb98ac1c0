"""The audit part of the code location: the scope reconciliation job (the audit's synced state against
JDE's keys)."""

import dagster as dg

from jde_mc_pipeline.defs.audit.scope import build_scope_job


def build() -> dg.Definitions:
    return dg.Definitions(jobs=[build_scope_job()])


@dg.definitions
def defs() -> dg.Definitions:
    return build()

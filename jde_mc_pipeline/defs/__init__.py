"""Dagster definitions only (partitions, resources, IO manager, assets, checks, jobs); no business logic.

The work itself lives in jde_mc_pipeline/{jde,mapping,mailchimp,audit,sync}; these modules wire it into
assets and record what a person wants to see in the UI.
"""

import warnings

import dagster as dg

# `backfill_policy` is marked beta in Dagster 1.13, and every partitioned asset here needs it (a range is
# one run). The warning repeats for each asset in every process that loads the code, drowning the logs
# the operator reads; the pin in pyproject.toml is what guards against a breaking change.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

"""Dagster definitions only (partitions, resources, IO manager, assets, checks, jobs); no business logic.

The work itself lives in jde_mc_pipeline/{settings,jde,mapping,mailchimp,audit,sync}, which import no
Dagster; these modules wire it into assets and record what a person wants to see in the UI.
"""

import warnings

import dagster as dg

# `backfill_policy` is marked beta in Dagster 1.13, and every partitioned asset here needs it (a range is
# one run). The warning repeats for each asset in every process that loads the code, drowning the logs
# the operator reads; the pin in pyproject.toml is what guards against a breaking change.
# The same for the code references (each asset's link to its source in the UI), beta too.
BETA_IN_USE = r"(Parameter `backfill_policy`|Function `with_source_code_references`|Class `\w*CodeReference)"
warnings.filterwarnings("ignore", message=BETA_IN_USE, category=dg.BetaWarning)

MAILCHIMP_POOL = "mailchimp"
"""The concurrency pool of every step that talks to Mailchimp (limit 1: one such step at a time)."""


def set_pool_limits(instance: dg.DagsterInstance) -> None:
    """Store the Mailchimp pool's limit in the instance before any run starts.

    dagster.yaml's `pools.default_limit` is applied lazily, by the first step that meets the pool. When
    several run processes meet it at the same moment, each allocates the default slot (seen here: 4
    parallel runs, 2 Mailchimp steps at once on a fresh instance). Setting the limit once up front, as
    `dagster instance concurrency set mailchimp 1` does, leaves nothing to race.
    """
    instance.event_log_storage.set_concurrency_slots(MAILCHIMP_POOL, 1)

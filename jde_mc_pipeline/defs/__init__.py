"""Dagster definitions only (partitions, resources, IO manager, assets, checks, jobs); no business logic.

The work itself lives in jde_mc_pipeline/{jde,mapping,mailchimp,audit,sync}; these modules wire it into
assets and record what a person wants to see in the UI.
"""

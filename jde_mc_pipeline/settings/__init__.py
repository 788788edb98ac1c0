"""The connector's settings: read from the environment, checked, and turned into the plain clients.

No Dagster here: the resources of the code location (jde_mc_pipeline/defs/) are these models with
Dagster's resource machinery added, and the `jde-mc` commands use the models themselves.
"""

"""The sync layer outside Dagster: settings, prepare/map/push/combine/reconcile, audit recording, replay,
and the `jde-mc ping` / `jde-mc dry-run` commands."""

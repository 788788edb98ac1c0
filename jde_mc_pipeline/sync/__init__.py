"""The sync layer outside Dagster: the stages (pull, map, write, record, close), the writes to Mailchimp
and their outcome rows, audit recording, replay, scope reconciliation and the dry run's prediction."""

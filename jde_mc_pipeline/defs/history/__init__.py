"""A record's history in the UI: the job `record_history` and its report."""

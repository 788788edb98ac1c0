"""The audit store in the code location: its resource and the scope reconciliation job."""

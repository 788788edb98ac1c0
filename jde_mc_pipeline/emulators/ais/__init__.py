"""A strict emulator of the JD Edwards AIS Server REST API (tokens, data service, paging, faults)."""

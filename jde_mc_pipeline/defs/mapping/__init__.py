"""The mapping in the code location: its settings resource and the step that maps JDE rows to payloads."""

"""What the two emulators share: the HTTP transport, fault injection and request counters."""

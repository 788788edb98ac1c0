"""A strict emulator of the Mailchimp Marketing API v3 (members, batches, e-commerce, limits, faults)."""

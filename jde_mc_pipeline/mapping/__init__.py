"""JDE rows to parties to Mailchimp payloads: pandera schemas, outcomes, change detection.

Entry point: `map_batch(frames, options, state=..., today=...) -> MappingResult` (batch.py); options in
options.py; the last-synced-state Protocol in changes.py; outcome and event names in outcomes.py; the
contract and the decisions it left open in docs/mapping.md.
"""

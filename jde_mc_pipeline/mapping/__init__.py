"""JDE rows to parties to Mailchimp payloads: pandera schemas, outcomes, change detection."""

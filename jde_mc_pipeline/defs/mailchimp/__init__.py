"""Mailchimp in the code location: its resource, the two sync assets, the dry run and the replay."""

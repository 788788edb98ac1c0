"""Everything that speaks the Mailchimp Marketing API v3: the client and the emulator."""

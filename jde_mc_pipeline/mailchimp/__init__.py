"""Everything that speaks the Mailchimp Marketing API v3: the client (the emulator is in
jde_mc_pipeline/emulators/mailchimp/)."""

"""jde_mc_pipeline: keeps Mailchimp in step with JD Edwards EnterpriseOne."""

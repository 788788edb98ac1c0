"""jde_mc_pipeline: keeps Mailchimp in step with JD Edwards EnterpriseOne."""

from jde_mc_pipeline.redaction import install_log_redaction

# No log line of the package may carry the query of a signed storage URL (redaction.py says why).
install_log_redaction()

"""The drift report: `mailchimp_drift`, its check and its daily schedule."""

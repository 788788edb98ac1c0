"""JD Edwards in the code location: the AIS resource and the six raw table assets."""

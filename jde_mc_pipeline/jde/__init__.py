"""Everything that speaks JD Edwards AIS: the table catalogue, dates, the client, extraction (the emulator
is in jde_mc_pipeline/emulators/ais/)."""

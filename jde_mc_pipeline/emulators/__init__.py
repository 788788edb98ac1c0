"""Stand-ins for the external services: JD Edwards AIS (`ais/`) and Mailchimp's Marketing API (`mailchimp/`).

Both run on the threaded HTTP server of `http.py` and share the fault injection and request counters of
`controls.py`. They are the embedded default of `jde-mc demo`, a user's bench for a dry run
(`jde-mc emulate jde --data DIR`), and what the tests talk to over real HTTP.

Only the CLI (`jde-mc emulate`), the demo and the tests import them. The connector (clients, mapping, sync,
audit, Dagster definitions) never does: it reaches them over the network only, as it reaches the real
services. In the other direction the AIS emulator shares one module with the connector, the table catalogue
`jde_mc_pipeline/jde/tables.py`. `jde_mc_pipeline_tests/test_layout.py` checks these rules, and that the
package has no import cycle.
"""

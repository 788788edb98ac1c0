"""Puts a subprocess of the tests on their fixed clock (see jde_mc_pipeline_tests/clock.py).

Python imports `sitecustomize` at start-up from its path; the tests put this folder first on the
PYTHONPATH of the subprocesses they start, with the offset of their clock from the machine's.
"""

import os
import time

if os.environ.get("JDE_MC_TEST_CLOCK_OFFSET"):
    import time_machine

    time_machine.travel(time.time() + float(os.environ["JDE_MC_TEST_CLOCK_OFFSET"]), tick=True).start()

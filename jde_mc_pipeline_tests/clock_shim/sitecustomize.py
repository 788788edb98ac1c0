"""Puts a subprocess of the tests on their fixed clock (see jde_mc_pipeline_tests/clock.py).

Python imports `sitecustomize` at start-up from its path; the tests put this folder first on the
PYTHONPATH of the subprocesses they start, with the offset of their clock from the machine's.
"""

import os
import time

if os.environ.get("TESTS_CLOCK_OFFSET_SECONDS"):
    import time_machine

    time_machine.travel(time.time() + float(os.environ["TESTS_CLOCK_OFFSET_SECONDS"]), tick=True).start()

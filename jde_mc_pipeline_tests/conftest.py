"""Fixtures shared across test folders: the emulator fixtures, imported (not redefined) from their folders.

`JDE_START_DATE` is read when the partitions module is imported, once per test session, so it is set
here, before any folder's conftest: 30 days before today (as `jde-mc demo` sets it), which leaves room
for tests that need several partitions before today. Tests derive their dates from `START_DATE`.
"""

import datetime as _dt
import os

os.environ.setdefault("JDE_START_DATE", (_dt.date.today() - _dt.timedelta(days=30)).isoformat())

from jde_mc_pipeline_tests.jde.conftest import (  # noqa: F401
    jde_caller,
    jde_dataset,
    jde_emulator,
    jde_emulator_factory,
)
from jde_mc_pipeline_tests.mailchimp.conftest import (  # noqa: F401
    mailchimp_api,
    mailchimp_emulator,
    mailchimp_emulator_factory,
)

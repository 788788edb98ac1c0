"""The deployment the Dagster tests build their definitions for: partitions from 30 days before the
tests' fixed today (jde_mc_pipeline_tests/clock.py).

Built as a value (no environment variable): each test folder that needs another configuration builds
its own `Deployment` (test_definitions.py loads two in one process). 30 days leaves room for tests that
need several partitions before today; tests derive every date from `START_DATE`.
"""

import datetime as dt

from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline_tests.clock import TODAY

START_DATE = TODAY - dt.timedelta(days=30)
DEPLOYMENT = Deployment(start_date=START_DATE)

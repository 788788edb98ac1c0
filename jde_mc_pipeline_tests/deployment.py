"""The deployment the Dagster tests build their definitions for: partitions from 30 days before today.

Built as a value (no environment variable): each test folder that needs another configuration builds
its own `Deployment` (test_definitions.py loads two in one process). 30 days leaves room for tests that
need several partitions before today; tests derive every date from `START_DATE`.
"""

import datetime as dt

from jde_mc_pipeline.defs.environment import Deployment

START_DATE = dt.date.today() - dt.timedelta(days=30)
DEPLOYMENT = Deployment(start_date=START_DATE)

"""`python -m jde_mc_pipeline.cli`: the `jde-mc` command without its console script."""

import sys

from jde_mc_pipeline.cli import main

sys.exit(main())

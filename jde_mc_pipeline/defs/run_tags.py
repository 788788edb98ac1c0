"""The tags the code location puts on runs, and reads back: one place for their names.

Why apart: the steps set some (the partitions a run covered, the host that runs it), the sensors and
schedules others (who asked for the run, the watermark), and the dead-run sensor reads the host; each
part imports the names from here rather than from another part.
"""

from __future__ import annotations

import socket

TRIGGER_TAG = "jde_mc/trigger"
"""Who asked for a run: `sensor`, `schedule`, `nightly`, `reconciliation` (absent: a person)."""
WATERMARK_TAG = "jde_mc/watermark"
RANGE_TAG = "jde_mc/partitions"
"""The partitions a run covered, shown in the runs list (any launch: UI, CLI, sensor)."""
HOST_TAG = "jde_mc/host"
"""The machine whose process executes the run (set by its first step; defs/automation/dead_runs.py)."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def this_host() -> str:
    """The name `HOST_TAG` holds for runs executed on this machine."""
    return socket.gethostname()

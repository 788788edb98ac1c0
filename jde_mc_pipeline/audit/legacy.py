"""The one-time move of the first release's customer ids (docs/mapping.md, "Customers of the first
release").

The first release keyed customers by the AN8; today's ids are the e-mail's hash. Until they are moved,
every run pulls the parties of the customers the synced state still holds under a legacy id, and writes
them under the new id (sync/companions.py, mailchimp/ecommerce.py): the first run after the upgrade
moves them all. Why recorded: nothing makes a new legacy id (ids derive from the e-mail), so once the
state holds none, the run that sees it records the move in `sync_milestones` and no later run looks
again: an increment then reads neither the whole state nor the whole store for them. A move left
unfinished (a write failed) is looked for again by the next run, which finishes it.
"""

from __future__ import annotations

import numpy as np

from jde_mc_pipeline.audit.backends import AnyAuditStore, AnySyncedState

LEGACY_IDS_MOVED = "legacy_customer_ids_moved"
"""The milestone's name in `sync_milestones`."""


def legacy_an8s(state: AnySyncedState) -> np.ndarray:
    """The AN8s of the customers still under a legacy id; none, without looking, once the move is
    recorded."""
    if moved(state.store):
        return np.array([], dtype=np.int64)
    return state.legacy_customers()["an8"].to_numpy(dtype=np.int64)


def record_if_moved(state: AnySyncedState, run_id: str) -> bool:
    """Record the move as done by `run_id` when the state holds no legacy id any more; whether it is done.

    Called after a run advanced the customers' state; a read-only store records nothing."""
    if moved(state.store):
        return True
    if state.store.read_only or not state.legacy_customers().empty:
        return False
    state.store.record_milestone(LEGACY_IDS_MOVED, run_id)
    return True


def moved(store: AnyAuditStore) -> bool:
    """Whether the move is recorded (a read-only file made before `sync_milestones` says no)."""
    return store.reached(LEGACY_IDS_MOVED)

"""The scope reconciliation: parties that left JDE's scope without leaving a trace (docs/mapping.md).

Why a reconciliation and not the incremental sync: JDE keeps no delete trail. A deleted address-book row
has no UPMJ any more, and neither has a deleted customer-master row (F03012) that takes a party's last
role away, so no change window ever shows them. What does show them is comparing two sets of keys:
the AN8s JDE holds in scope now, read cheaply (F0101 `AN8`, `AT1`, F03012 `AN8` and the e-mail rows of
F01151, nothing else), and the AN8s the synced state says are in Mailchimp (holders and the AN8s folded
into their records).

- A synced AN8 without an F0101 row was deleted in JDE: it is passed to the mapping as `deleted`, which
  makes it `left_scope:deleted_in_jde` and gives its record the `on_leave` action (or leaves the
  record to the parties still sharing it).
- A record whose group's roles in JDE no longer earn the owned tags it holds (a role gone, or every
  role gone), one of whose parties holds no role routed to the target any more (its tags may still be
  earned by the others: it must leave the group all the same, `left_scope:no_role`, the record kept by
  them), or one of whose parties no longer has the record's e-mail (an F01151 row deleted: the e-mail
  is the record's key), has *drifted*: its parties are pulled whole and synced as usual, so a lost role
  sets its tag inactive, a party without role leaves scope and a party without the e-mail leaves the
  group, exactly as if JDE had stamped the change.
Other rows deleted without a trace (a phone, an address, a who's-who name) are not looked for: they
reach Mailchimp with the party's next change.
The parties sharing a record with those are pulled too (sync/companions.py), so nothing is decided
from half a group. Everything else is left alone: nothing is sent for a party that did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jde_mc_pipeline.audit.backends import AnySyncedState
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import read_parties
from jde_mc_pipeline.jde.udc import add_descriptions
from jde_mc_pipeline.mapping.emails import choose_emails
from jde_mc_pipeline.mapping.options import CUSTOMER, LIST_MEMBER, TARGETS, VENDOR, MappingOptions
from jde_mc_pipeline.mapping.segments import on_demand_columns, udc_columns
from jde_mc_pipeline.sync.companions import companion_an8s, with_companions

KEY_COLUMNS = {"F0101": ["AN8", "AT1"], "F03012": ["AN8"], "F01151": ["AN8", "IDLN", "RCK7", "ETP", "EMAL"]}
"""The one cheap read of keys: who exists, and the columns that decide the roles."""


@dataclass(frozen=True)
class ScopeChanges:
    """What the comparison found, and the frames to sync (the drifted parties and their companions)."""

    deleted: np.ndarray
    """Synced AN8s without an address-book row in JDE."""
    drifted: np.ndarray
    """AN8s of records whose roles in JDE differ from what the record holds (pulled whole)."""
    frames: dict[str, pd.DataFrame]
    synced: int
    """AN8s the synced state knows (holders and folded in)."""
    in_jde: int
    """Address-book rows read."""


def jde_roles(client: AisClient, options: MappingOptions) -> pd.DataFrame:
    """Every AN8 of F0101 with its roles (`is_customer`, `is_vendor`), from the keys alone."""
    book = client.browse("F0101", None, KEY_COLUMNS["F0101"])
    masters = set(client.browse("F03012", None, KEY_COLUMNS["F03012"])["AN8"].dropna().astype(np.int64))
    search_type = book["AT1"].astype(str).str.strip().str.upper()
    an8 = book["AN8"].astype(np.int64)
    return pd.DataFrame(
        {
            "an8": an8.to_numpy(),
            "is_customer": (an8.isin(masters) | search_type.isin(options.customer_search_types)).to_numpy(),
            "is_vendor": search_type.isin(options.vendor_search_types).to_numpy(),
        }
    ).drop_duplicates("an8")


def scope_changes(client: AisClient, state: AnySyncedState, options: MappingOptions) -> ScopeChanges:
    """Compare JDE's keys with the synced state and pull what must be synced again (module doc)."""
    client.on_demand = on_demand_columns(options.segment_fields)
    roles = jde_roles(client, options)
    held = {int(a): {CUSTOMER: c, VENDOR: v} for a, c, v in roles.itertuples(index=False)}
    chosen = choose_emails(client.browse("F01151", None, KEY_COLUMNS["F01151"]))
    email_of = dict(zip(chosen["an8"].astype(int), chosen["email"], strict=True))
    known = np.unique(state.synced_an8s()["an8"].to_numpy(dtype=np.int64))
    deleted = known[~np.isin(known, roles["an8"].to_numpy())]
    drifted: set[int] = set()
    for target in TARGETS:
        routed = options.roles_for(target)
        records = state.records(target, known)
        for email, tags, group in zip(records["email"], records["tags"], records["an8s"], strict=True):
            present = [a for a in group if a in held]
            earned = {options.tag_for(role) for a in present for role in routed if held[a][role]}
            owned = set(tags) & set(options.owned_tags)
            moved = any(email_of.get(a, "") != email for a in present)
            roleless = any(not any(held[a][role] for role in routed) for a in present)
            if len(present) < len(group) or roleless or moved or (target == LIST_MEMBER and owned != earned):
                drifted.update(present)
    wanted = np.array(sorted(drifted), dtype=np.int64)
    extra = np.union1d(wanted, companion_an8s(state, np.union1d(wanted, deleted), {}))
    extra = extra[np.isin(extra, roles["an8"].to_numpy())]
    found = with_companions(client, state, read_parties(client, []), extra)
    frames = add_descriptions(client, found.frames, udc_columns(options.segment_fields))
    return ScopeChanges(np.union1d(deleted, found.deleted), wanted, frames, len(known), len(roles))

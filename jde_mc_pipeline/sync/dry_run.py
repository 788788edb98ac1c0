"""What a sync would do with a mapping's output, read from Mailchimp without writing (the dry run).

One function for both dry runs, `jde-mc dry-run` and the `mailchimp_dry_run` asset, so that the terminal
and the UI predict the same thing: members from the audience itself, customers from the synced state,
departures from the mapping, and the outcomes the mapping decided as they are (predicted_outcomes.py
says how). `likely_refusals` sums up, for both, what Mailchimp would likely refuse or not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.merge_fields import DEFAULT_MERGE_FIELDS, MergeFieldSpec, list_merge_fields
from jde_mc_pipeline.mapping.changes import SyncedState
from jde_mc_pipeline.mapping.outcomes import REJECTED_PREFIX
from jde_mc_pipeline.sync.inspection import MergeFieldFindings, judge_merge_fields
from jde_mc_pipeline.sync.member_reads import read_members
from jde_mc_pipeline.sync.predicted_outcomes import (
    PREDICTION_COLUMNS,
    Contact,
    hashes_needed,
    predict_customers,
    predict_leaves,
    predict_members,
)


@dataclass(frozen=True)
class Prediction:
    """The predicted outcome of every pulled party × target, and what was read to predict it."""

    table: pd.DataFrame
    """PREDICTION_COLUMNS: an8, target, target_key, email, outcome, flag, detail."""
    fields: MergeFieldFindings
    contacts: dict[str, Contact | None]


def predict_sync(
    members: pd.DataFrame,
    customers: pd.DataFrame,
    leaves: pd.DataFrame,
    decided: pd.DataFrame,
    emails: pd.Series,
    client: MailchimpClient,
    list_id: str,
    state: SyncedState,
    merge_fields: tuple[MergeFieldSpec, ...] = DEFAULT_MERGE_FIELDS,
) -> Prediction:
    """Read the merge fields and the members the payloads target (GETs only) and predict every outcome;
    `emails`: AN8 → the party's e-mail (for the decided rows); `merge_fields`: what the mapping fills
    (`merge_field_specs`: the defaults and the segment fields)."""
    fields = judge_merge_fields(list_merge_fields(client, list_id), merge_fields)
    contacts = read_members(client, list_id, hashes_needed(members))
    predicted = pd.concat(
        [predict_members(members, contacts), predict_customers(customers, state), predict_leaves(leaves)],
        ignore_index=True,
    )
    rest = decided.rename(columns={"reason": "detail"})
    rest = rest.assign(email=rest["an8"].map(emails).fillna(""), flag="")  # no F0101 row: no e-mail
    table = pd.concat([predicted, rest.loc[:, list(PREDICTION_COLUMNS)]], ignore_index=True)
    return Prediction(table, fields, contacts)


@dataclass(frozen=True)
class LikelyRefusal:
    """One thing Mailchimp would likely refuse or not apply, and the predicted rows it concerns (none
    for what concerns the whole audience)."""

    text: str
    rows: pd.DataFrame


def likely_refusals(table: pd.DataFrame, fields: MergeFieldFindings) -> list[LikelyRefusal]:
    """Merge-field conflicts and required fields the connector leaves empty (the whole audience), then
    the flagged rows per flag and the rows predicted `rejected:` per target and outcome."""
    nothing = table.iloc[0:0]
    found = [
        LikelyRefusal(
            f"merge field {tag} is of type '{actual}', the connector needs {' or '.join(wanted)}: a sync "
            "stops before any write",
            nothing,
        )
        for tag, (actual, wanted) in sorted(fields.conflicts.items())
    ]
    if fields.required_unfilled:
        found.append(
            LikelyRefusal(
                f"required merge field(s) {', '.join(fields.required_unfilled)} are not filled by the "
                "connector: Mailchimp would refuse every new contact",
                nothing,
            )
        )
    for flag, rows in table.loc[table["flag"].str.len() > 0].groupby("flag"):
        found.append(LikelyRefusal(f"flag {flag} {len(rows)}: {rows['detail'].iloc[0]}", rows))
    rejected = table.loc[table["outcome"].str.startswith(REJECTED_PREFIX)]
    for (target, outcome), rows in rejected.groupby(["target", "outcome"]):
        found.append(LikelyRefusal(f"{target} {outcome} {len(rows)}: {rows['detail'].iloc[0]}", rows))
    return found

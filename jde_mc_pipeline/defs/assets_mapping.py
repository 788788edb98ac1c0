"""The mapping: the six raw frames → validated parties, the two payload frames and the outcomes decided
before any API call (mapping/batch.py through sync/pipeline.py `map_frames`).

Why the pandera models are the outputs' Dagster types: the UI shows each frame's contract (columns,
dtypes, checks), and a frame that breaks it fails the step at once. That is safe here because
`map_batch` already dropped (and reported) the rows that break a contract: per-row problems become
quarantine outcomes and the `schema_valid` check, never a type failure. The raw extracts are not typed
with their models for the same reason: a bad JDE row must be quarantined, not fail the run.

The step reads the last synced state from the audit store (change detection), records every mapped
field in `mapped_values` and every fact it found per party (`mapping_events`: an incomplete address, a
shared or taken e-mail, a role lost, …). Parties that left scope and whose record gets the `on_leave`
action are the fifth output, `mailchimp_departures`.
"""

import warnings

import dagster as dg
import numpy as np
import pandas as pd
import pandera.pandas as pa

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.defs.assets_jde import jde_asset_key
from jde_mc_pipeline.defs.checks import (
    counts_of,
    quarantine_result,
    quarantine_spec,
    sample,
    schema_result,
    schema_spec,
)
from jde_mc_pipeline.defs.partitions import key_range, upmj_partitions
from jde_mc_pipeline.defs.resources import AuditStoreResource, SyncSettingsResource
from jde_mc_pipeline.defs.staging import PARTITION_COLUMN
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.schemas import (
    CustomerPayloadFrame,
    LeaveFrame,
    MemberPayloadFrame,
    OutcomeFrame,
    PartyFrame,
)
from jde_mc_pipeline.sync.pipeline import map_frames

with warnings.catch_warnings():  # dagster-pandera's converter is marked beta; the types are plain checks
    warnings.simplefilter("ignore")
    from dagster_pandera import pandera_schema_to_dagster_type

MAPPING_GROUP = "mapping"


def staged_type(model: type[pa.DataFrameModel], name: str, description: str) -> dg.DagsterType:
    """The model's schema plus the staging `partition_key` column, as a Dagster type."""
    schema = model.to_schema().add_columns({PARTITION_COLUMN: pa.Column(object)})
    schema.name = schema.title = name
    schema.description = description
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pandera_schema_to_dagster_type(schema)


PARTY_TYPE = staged_type(PartyFrame, "PartyFrame", "One row per JDE party (AN8) with an address-book row")
MEMBER_TYPE = staged_type(MemberPayloadFrame, "MemberPayloadFrame", "List-member payloads to write")
CUSTOMER_TYPE = staged_type(CustomerPayloadFrame, "CustomerPayloadFrame", "E-commerce customer payloads")
OUTCOME_TYPE = staged_type(OutcomeFrame, "DecidedOutcomeFrame", "Outcomes decided before any API call")
LEAVE_TYPE = staged_type(
    LeaveFrame, "LeaveFrame", "Parties leaving scope whose record gets the on_leave action"
)

PARTIES = dg.AssetKey("parties")
MEMBER_PAYLOADS = dg.AssetKey("mailchimp_member_payloads")
CUSTOMER_PAYLOADS = dg.AssetKey("mailchimp_customer_payloads")
DECIDED_OUTCOMES = dg.AssetKey("decided_outcomes")
DEPARTURES = dg.AssetKey("mailchimp_departures")


def _staged_out(key: dg.AssetKey, dagster_type: dg.DagsterType, description: str) -> dg.AssetOut:
    """An output of the mapping step: a pandera-typed frame staged per partition."""
    return dg.AssetOut(
        key=key,
        dagster_type=dagster_type,
        description=description,
        io_manager_key="staging",
        kinds={"pandas", "pandera"},
    )


@dg.multi_asset(
    name="map_parties",
    ins={name.lower(): dg.AssetIn(key=jde_asset_key(name)) for name in TABLES},
    outs={
        "parties": _staged_out(
            PARTIES,
            PARTY_TYPE,
            "The assembled, validated parties: identity, roles (customer/vendor), the chosen "
            "e-mail, phone and current address, one row per AN8 (PartyFrame).",
        ),
        "mailchimp_member_payloads": _staged_out(
            MEMBER_PAYLOADS,
            MEMBER_TYPE,
            "List-member payloads that differ from the last synced state: e-mail, merge "
            "fields, tags, status for new contacts (MemberPayloadFrame).",
        ),
        "mailchimp_customer_payloads": _staged_out(
            CUSTOMER_PAYLOADS,
            CUSTOMER_TYPE,
            "E-commerce customer payloads that differ from the last synced state: id, e-mail, "
            "names, company, address (CustomerPayloadFrame).",
        ),
        "decided_outcomes": _staged_out(
            DECIDED_OUTCOMES,
            OUTCOME_TYPE,
            "Outcomes decided before any API call, one per (AN8 × target) not sent: "
            "unchanged, merged, quarantined:*, skipped:out_of_scope, rejected:* refused before, "
            "left_scope:* kept by other parties sharing the e-mail (OutcomeFrame).",
        ),
        "mailchimp_departures": _staged_out(
            DEPARTURES,
            LEAVE_TYPE,
            "Parties that were synced and left scope (no role left, or deleted in JDE) whose member and "
            "customer get the JDE_MC_ON_LEAVE action: untag, archive or none (LeaveFrame).",
        ),
    },
    check_specs=[schema_spec(PARTIES), quarantine_spec(DECIDED_OUTCOMES)],
    partitions_def=upmj_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=MAPPING_GROUP,
    description="Maps the run's JDE rows to Mailchimp payloads and decided outcomes (change detection "
    "against the synced state in the audit store).",
)
def map_parties(
    context: dg.AssetExecutionContext,
    f0101: pd.DataFrame,
    f03012: pd.DataFrame,
    f0116: pd.DataFrame,
    f01151: pd.DataFrame,
    f0115: pd.DataFrame,
    f0111: pd.DataFrame,
    audit: AuditStoreResource,
    sync_settings: SyncSettingsResource,
):
    staged = dict(zip(TABLES, (f0101, f03012, f0116, f01151, f0115, f0111), strict=True))
    _, last = key_range(context.partition_keys)
    keys = party_keys(staged.values())
    frames = {name: frame.drop(columns=PARTITION_COLUMN) for name, frame in staged.items()}
    store, settings = audit.store(), sync_settings.settings()
    run_id = context.run.run_id
    timings: dict[str, float] = {}
    result = map_frames(frames, settings, DuckDBSyncedState(store), timings=timings)
    mapped = store.record_mapped_values(run_id, result.trail)

    def keyed(frame: pd.DataFrame, an8: pd.Series) -> pd.DataFrame:
        found = an8.astype(np.int64).map(keys)
        return frame.assign(**{PARTITION_COLUMN: found.where(found.notna(), last).astype(object)})

    parties = keyed(result.parties, result.parties["an8"])
    members = keyed(result.members, result.members["key"])
    customers = keyed(result.customers, result.customers["key"])
    decided = keyed(result.outcomes, result.outcomes["an8"])
    departures = keyed(result.leaves, result.leaves["an8"])
    events = store.record_events(run_id, keyed(result.events, result.events["an8"]))
    common = {
        "parties_pulled": len(result.pulled),
        "mapped_values_recorded": mapped,
        "mapping_events_recorded": events,
    }
    yield dg.Output(
        parties,
        output_name="parties",
        metadata={
            **common,
            "rows": len(parties),
            "customers": int(parties["is_customer"].sum()),
            "vendors": int(parties["is_vendor"].sum()),
            "email_problems": dg.MetadataValue.json(counts_of(parties, ["email_problem"])),
            "seconds_per_stage": dg.MetadataValue.json({k: round(v, 3) for k, v in timings.items()}),
            "sample": dg.MetadataValue.md(sample(parties.drop(columns=["email_source", "phone_source"]))),
        },
    )
    for name, frame in (("mailchimp_member_payloads", members), ("mailchimp_customer_payloads", customers)):
        yield dg.Output(
            frame,
            output_name=name,
            metadata={**common, "rows": len(frame), "sample": dg.MetadataValue.md(sample(frame))},
        )
    yield dg.Output(
        decided,
        output_name="decided_outcomes",
        metadata={
            **common,
            "rows": len(decided),
            "outcomes": dg.MetadataValue.json(counts_of(decided, ["target", "outcome"])),
            "events": dg.MetadataValue.json(counts_of(result.events, ["target", "event"])),
            "sample": dg.MetadataValue.md(sample(decided)),
        },
    )
    yield dg.Output(
        departures,
        output_name="mailchimp_departures",
        metadata={
            **common,
            "rows": len(departures),
            "actions": dg.MetadataValue.json(counts_of(departures, ["target", "action", "reason"])),
            "sample": dg.MetadataValue.md(sample(departures)),
        },
    )
    rows_pulled = sum(len(frame) for frame in frames.values())
    yield schema_result(PARTIES, result.failures, rows_pulled)
    threshold = sync_settings.quarantine_threshold()
    yield quarantine_result(DECIDED_OUTCOMES, result.outcomes, len(result.pulled), threshold)


def party_keys(frames) -> pd.Series:
    """AN8 → partition key, from the `partition_key` the extract gave every row of a party."""
    parts = [frame.loc[:, ["AN8", PARTITION_COLUMN]] for frame in frames if len(frame)]
    if not parts:
        return pd.Series([], dtype=object, index=pd.Index([], dtype=np.int64))
    rows = pd.concat(parts, ignore_index=True).dropna(subset=["AN8"])
    rows = rows.drop_duplicates("AN8")
    return pd.Series(rows[PARTITION_COLUMN].to_numpy(), index=rows["AN8"].astype(np.int64).to_numpy())

"""The mapping: the six raw frames → validated parties, the two payload frames, the outcomes decided before
any API call and the departures (mapping/batch.py through sync/stages.py `map_and_record`).

Why the pandera models are the outputs' Dagster types: the UI shows each frame's contract (columns, dtypes,
checks), and a frame that breaks it fails the step at once. That is safe because `map_batch` already
dropped (and reported) the rows that break a contract: per-row problems become quarantine outcomes and the
`schema_valid` check, never a type failure. The raw extracts are not typed with their models for the same
reason: a bad JDE row must be quarantined, not fail the run.

The step reads the last synced state from the audit store (change detection) and the parties the extract
found deleted in JDE (`jde_deleted`: they have no row to stage, yet leave scope in this run), records
every mapped field in `mapped_values` and every fact found per party in `mapping_events`.
"""

import dataclasses
import time
import warnings
from collections.abc import Callable, Iterable, Iterator

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from jde_mc_pipeline.defs.heartbeat import Heartbeat
from jde_mc_pipeline.defs.jde.assets import jde_asset_key
from jde_mc_pipeline.defs.mapping.checks import quarantine_result, quarantine_spec, schema_result, schema_spec
from jde_mc_pipeline.defs.metadata import (
    OWNERS,
    add_partition_counts,
    add_run_metadata,
    counts_of,
    numbers,
    sample,
)
from jde_mc_pipeline.defs.partitions import key_range, partition_keys, staged_partitions
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.defs.staging import with_partition_keys
from jde_mc_pipeline.defs.step_speed import fewer_collections
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.batch import MappingResult
from jde_mc_pipeline.mapping.schemas import (
    CustomerPayloadFrame,
    LeaveFrame,
    MemberPayloadFrame,
    OutcomeFrame,
    PartyFrame,
)
from jde_mc_pipeline.settings.connector import settings_for
from jde_mc_pipeline.sync.stages import PARTITION_COLUMN, map_and_record

with warnings.catch_warnings():  # dagster-pandera's converter is marked beta; the types are plain checks
    warnings.simplefilter("ignore")
    from dagster_pandera import pandera_schema_to_dagster_type

MAPPING_GROUP = "mapping"
PARTIES = dg.AssetKey("parties")
MEMBER_PAYLOADS = dg.AssetKey("mailchimp_member_payloads")
CUSTOMER_PAYLOADS = dg.AssetKey("mailchimp_customer_payloads")
DECIDED_OUTCOMES = dg.AssetKey("decided_outcomes")
DEPARTURES = dg.AssetKey("mailchimp_departures")


def staged_type(model: type[pa.DataFrameModel], name: str, description: str) -> dg.DagsterType:
    """The model's schema plus the staging `partition_key` column, as a Dagster type."""
    schema = model.to_schema().add_columns({PARTITION_COLUMN: pa.Column(object)})
    schema.name = schema.title = name
    schema.description = description
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pandera_schema_to_dagster_type(schema)


OUTPUTS: dict[str, tuple[dg.AssetKey, type[pa.DataFrameModel], str, str]] = {
    "parties": (
        PARTIES,
        PartyFrame,
        "PartyFrame",
        "The JD Edwards parties of the day as the connector reads them: name, roles (customer, vendor), the "
        "e-mail, phone and current address chosen, one row per address number (AN8).",
    ),
    "mailchimp_member_payloads": (
        MEMBER_PAYLOADS,
        MemberPayloadFrame,
        "MemberPayloadFrame",
        "The audience contacts to write: e-mail, names, company, phone, address, tags and the status for "
        "new contacts, only where they differ from what Mailchimp already holds.",
    ),
    "mailchimp_customer_payloads": (
        CUSTOMER_PAYLOADS,
        CustomerPayloadFrame,
        "CustomerPayloadFrame",
        "The e-commerce customers to write (one per e-mail), only where they differ from Mailchimp.",
    ),
    "decided_outcomes": (
        DECIDED_OUTCOMES,
        OutcomeFrame,
        "DecidedOutcomeFrame",
        "What needs no write, per party and target, and why: unchanged, sharing another party's e-mail "
        "(merged), no usable e-mail (quarantined), not a customer or vendor, refused before, left scope.",
    ),
    "mailchimp_departures": (
        DEPARTURES,
        LeaveFrame,
        "LeaveFrame",
        "Parties synced before that are no longer customers or vendors, or were deleted in JDE: their "
        "contacts get the JDE_MC_ON_LEAVE action (tags removed, archived, or left alone).",
    ),
}


def build_map_parties(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The multi-asset mapping the run's JDE rows (module doc)."""

    @dg.multi_asset(
        name="map_parties",
        ins={name.lower(): dg.AssetIn(key=jde_asset_key(name)) for name in TABLES},
        outs={
            name: dg.AssetOut(
                key=key,
                dagster_type=staged_type(model, type_name, description),
                description=description,
                io_manager_key="staging",
                kinds={"pandas", "pandera"},
                owners=OWNERS,
            )
            for name, (key, model, type_name, description) in OUTPUTS.items()
        },
        check_specs=[schema_spec(PARTIES), quarantine_spec(DECIDED_OUTCOMES)],
        partitions_def=partitions,
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
        jde: JdeAisResource,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ):
        staged = dict(zip(TABLES, (f0101, f03012, f0116, f01151, f0115, f0111), strict=True))
        _, last = key_range(context.partition_keys)
        known = staged_partitions(staged.values())
        frames = {name: without_partition_keys(frame) for name, frame in staged.items()}
        run_id = context.run.run_id
        settings = settings_for(sync_settings, mailchimp, jde.timezone)
        timings: dict[str, float] = {}
        with audit.closing_run(run_id) as store, fewer_collections():
            began = time.perf_counter()
            with Heartbeat(
                context.log, lambda seconds: f"mapping: done {', '.join(timings) or 'nothing'} yet"
            ):
                result = map_and_record(
                    frames, settings, store, run_id, deleted=store.deleted(run_id),
                    partition_of=lambda an8: partition_keys(an8, known, last), timings=timings,
                )  # fmt: skip
            seconds = time.perf_counter() - began
            rate = len(result.pulled) / max(seconds, 1e-3)
            context.log.info(
                f"mapped {len(result.pulled):,} parties in {seconds:.1f} s ({rate:,.0f} parties/s): "
                f"{len(result.members):,} members and {len(result.customers):,} customers to write, "
                f"{len(result.leaves):,} departures"
            )
            rows_pulled = sum(len(frame) for frame in frames.values())
            del frames
            emptied(staged.values())
            result = dataclasses.replace(result, trail=result.trail.iloc[0:0])  # kept in mapped_values
            yield from _outputs(context, result, timings, lambda an8: partition_keys(an8, known, last))
            yield schema_result(PARTIES, result.failures, rows_pulled)
            threshold = sync_settings.max_quarantine_rate
            yield quarantine_result(DECIDED_OUTCOMES, result.outcomes, len(result.pulled), threshold)

    return map_parties


def without_partition_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` without its `partition_key` column: a new frame sharing the other columns' data. `drop`
    would copy every column, and the staged inputs stay referenced until the step ends, so the copy
    held the six tables twice (100 MB at 100,000 parties) through the whole mapping."""
    frame = frame.copy(deep=False)
    if PARTITION_COLUMN in frame.columns:
        del frame[PARTITION_COLUMN]  # splits the block around the column, copying no data
    return frame


def emptied(frames: Iterable[pd.DataFrame]) -> None:
    """Take every column out of these frames, in place. Why: Dagster holds a step's inputs until the step
    ends, and the mapping's outputs are type-checked and staged after the mapping is done with its inputs;
    the six tables (200 MB at 100,000 parties) would be held meanwhile."""
    for frame in frames:
        frame.drop(columns=list(frame.columns), inplace=True)


def _outputs(
    context: dg.AssetExecutionContext,
    result: MappingResult,
    timings: dict[str, float],
    partition_of: Callable[[pd.Series], pd.Series],
) -> Iterator[dg.Output]:
    """The five frames, each row filed under its party's partition, with their metadata."""

    def keyed(frame: pd.DataFrame, an8: pd.Series) -> pd.DataFrame:
        return with_partition_keys(frame, partition_of(an8).to_numpy())

    outputs = {
        "parties": keyed(result.parties, result.parties["an8"]),
        "mailchimp_member_payloads": keyed(result.members, result.members["key"]),
        "mailchimp_customer_payloads": keyed(result.customers, result.customers["key"]),
        "decided_outcomes": keyed(result.outcomes, result.outcomes["an8"]),
        "mailchimp_departures": keyed(result.leaves, result.leaves["an8"]),
    }
    extra = {
        "parties": {
            **numbers(
                {
                    "run_customers": int(result.parties["is_customer"].sum()),
                    "run_vendors": int(result.parties["is_vendor"].sum()),
                }
            ),
            "seconds_per_stage": dg.MetadataValue.json({k: round(v, 3) for k, v in timings.items()}),
        },
        "decided_outcomes": {"events": dg.MetadataValue.json(counts_of(result.events, ["target", "event"]))},
    }
    for name, frame in outputs.items():
        add_partition_counts(context, frame, OUTPUTS[name][0], outcomes=name == "decided_outcomes")
        metadata = {
            **numbers({"run_rows": len(frame), "run_parties_pulled": len(result.pulled)}),
            **extra.get(name, {}),
            "sample": sample(frame.drop(columns=["email_source", "phone_source"], errors="ignore")),
        }
        add_run_metadata(context, metadata, OUTPUTS[name][0])
        yield dg.Output(frame, output_name=name)

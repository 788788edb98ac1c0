"""The raw JDE extracts: one asset per address-book table, read in one AIS polling cycle per run.

Why a multi-asset: the six tables are read together (a party has changed when a row of *any* of its tables
has; jde/extract.py), in one polling cycle (one token; the initial load adds sessions, docs/ais.md). The
step also opens the run's row in `sync_runs` and keeps every row pulled in `jde_pulls` before anything is
mapped, so the audit shows what JDE said even when a later step fails. The parties that share a record
with a changed one are read with it, and so are those whose customer still has a legacy id
(sync/companions.py): the mapping must see whole groups. Those of them JDE holds no row of any more
were deleted there: they are kept in `jde_deleted`, where the mapping step finds them. When segment
fields send UDC descriptions, F0005 is read once per code list and the descriptions ride in the frames
(`AC02_DL01`, jde/udc.py).

Each frame gets the `partition_key` of its party (defs/partitions.py): the staging IO manager stores it
per partition, and a companion changed outside the window lands in the run's last partition.
"""

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.backends import synced_state
from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.heartbeat import Heartbeat
from jde_mc_pipeline.defs.metadata import OWNERS, add_partition_counts, add_run_metadata, numbers, sample
from jde_mc_pipeline.defs.partitions import (
    describe_window,
    extraction_window,
    key_range,
    partition_keys,
    partition_of_parties,
)
from jde_mc_pipeline.defs.resources import AuditStoreResource, JdeAisResource, SyncSettingsResource
from jde_mc_pipeline.defs.run_tags import RANGE_TAG
from jde_mc_pipeline.defs.staging import with_partition_keys
from jde_mc_pipeline.defs.step_speed import Waits, fewer_collections
from jde_mc_pipeline.jde.dates import hhmmss_to_time
from jde_mc_pipeline.jde.extract import Watermark, Window
from jde_mc_pipeline.jde.session import ClientStats
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.sync.stages import pull_window

JDE_GROUP = "jde_raw"


def jde_asset_key(table_name: str) -> dg.AssetKey:
    """`jde/F0101`, … : the asset of a raw table."""
    return dg.AssetKey(["jde", table_name])


EXTRACT_STEP = "jde_extract"
"""The step (and op) that pulls from JDE; a re-execution that skips it reuses its parent's pulls."""


def build_jde_extract(deployment: Deployment, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The multi-asset reading the run's UPMJ window from AIS (module doc)."""
    start = deployment.start_date

    @dg.multi_asset(
        name=EXTRACT_STEP,
        outs={
            name.lower(): dg.AssetOut(
                key=jde_asset_key(name),
                description=f"{name} ({spec.title}) as JD Edwards holds it: every row of the parties changed "
                "on the partition's day, read through AIS.",
                io_manager_key="staging",
                kinds={"jde", "pandas"},
                owners=OWNERS,
                tags={"system": "jde"},
            )
            for name, spec in TABLES.items()
        },
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=JDE_GROUP,
        description="Reads from JD Edwards the parties changed in the run's UPMJ window, and the parties "
        "sharing an e-mail with them (one AIS polling cycle).",
    )
    def jde_extract(
        context: dg.AssetExecutionContext,
        jde: JdeAisResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ):
        first, last = key_range(context.partition_keys)
        window = extraction_window(first, last, start)
        run_id = context.run.run_id
        context.instance.add_run_tags(run_id, {RANGE_TAG: first if first == last else f"{first}...{last}"})
        with audit.closing_run(run_id) as store, fewer_collections():
            audit.open_run(store, context, (first, last), _window_bounds(window, jde.timezone))
            began, waits = time.perf_counter(), Waits()
            context.log.info(f"reading JDE: {describe_window(first, last, start)}")
            with jde.client() as ais, Heartbeat(context.log, lambda s: _reading(ais.stats, s)):
                pulled = pull_window(ais, synced_state(store), window, sync_settings.options())
                calls = ais.stats.as_dict()
            seconds = time.perf_counter() - began
            store.record_deleted(run_id, pulled.deleted.tolist())  # not beside the thread writing the pulls
            frames, watermark = pulled.frames, pulled.extraction.watermark
            changed, companions, deleted = (
                len(pulled.extraction.an8s), len(pulled.companions), len(pulled.deleted)
            )  # fmt: skip
            # the rest of the pull would be held while the frames are staged: its sets of AN8s (Python
            # ints, 50 MB at 100,000 parties) and the frames as they were before companions joined them
            del pulled
            # DuckDB writes the pulls without holding the GIL: they are kept while the frames are staged
            # (the step ends only once they are, so nothing is mapped before the audit has them)
            with ThreadPoolExecutor(1, thread_name_prefix="jde-pulls") as keeper:
                kept = keeper.submit(store.record_pulls, run_id, frames)
                parties = partition_of_parties(frames, first, last, start)
                pulled_rows = sum(len(frame) for frame in frames.values())
                rate = pulled_rows / max(seconds, 1e-3)
                context.log.info(
                    f"{changed:,} parties changed, {companions:,} more pulled with them (they share a "
                    f"record; {deleted:,} of them deleted in JDE): {pulled_rows:,} rows in {seconds:.1f} s "
                    f"({rate:,.0f} rows/s, {calls['calls']} AIS calls)"
                )
                shared = {
                    "upmj_window": describe_window(first, last, start),
                    "partition_range": f"{first}...{last}",
                    "watermark": str(watermark) if watermark else "no change",
                    **waits.metadata(),
                    **numbers(
                        {
                            "run_ais_calls": calls["calls"],
                            "run_parties_changed": changed,
                            "run_parties_pulled_with_them": companions,
                            "run_seconds": round(seconds, 3),
                        }
                    ),
                }
                for name, frame in frames.items():
                    staged = with_partition_keys(frame, _keys(frame, parties, last))
                    add_partition_counts(context, staged, jde_asset_key(name))
                    metadata = {
                        **shared,
                        **numbers({"run_rows": len(frame), "run_parties": int(frame["AN8"].nunique())}),
                        "sample": sample(frame),
                    }
                    add_run_metadata(context, metadata, jde_asset_key(name))
                    yield dg.Output(staged, output_name=name.lower())
                rows = kept.result()
            context.log.info(f"{rows:,} rows kept in jde_pulls")

    return jde_extract


def _reading(stats: ClientStats, seconds: float) -> str:
    return (
        f"reading JDE: {stats.rows:,} rows in {stats.pages:,} pages so far "
        f"({stats.rows / seconds:,.0f} rows/s, {stats.calls} AIS calls)"
    )


def _window_bounds(window: Window, timezone: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The window as instants in JDE's time zone, for `sync_runs` (an open start stays None)."""
    zone = ZoneInfo(timezone)

    def instant(mark: Watermark | None) -> dt.datetime | None:
        return None if mark is None else dt.datetime.combine(mark.day, hhmmss_to_time(mark.time), tzinfo=zone)

    return instant(window.start), instant(window.end)


def _keys(frame: pd.DataFrame, parties: pd.Series, fallback: str) -> pd.Series:
    """The partition key of each row's party (rows with no party, e.g. AN8 0, go to the last key)."""
    an8 = pd.to_numeric(frame["AN8"], errors="coerce").fillna(0)
    return pd.Series(partition_keys(an8, parties, fallback).to_numpy(), index=frame.index, dtype=object)

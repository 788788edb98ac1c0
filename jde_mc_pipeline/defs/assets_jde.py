"""The raw JDE extracts: one asset per address-book table, read in one AIS session per run.

Why a multi-asset: the six tables are read together (a party has changed when a row of *any* of its
tables has; jde/extract.py), with one token for the whole run. The step also opens the run's row in
`sync_runs` and keeps every row pulled in `jde_pulls` before anything is mapped, so the audit shows
what JDE said even when a later step fails.

The parties that share a record with a changed one (same e-mail, as the synced state knows it) are
read along with it (sync/companions.py), and so are the parties whose customer still has a legacy id:
the mapping must see whole groups. Each frame gets the `partition_key` of its party
(defs/partitions.py `partition_of_parties`; a companion changed outside the window lands in the run's
last partition), which is how the staging IO manager stores it per partition.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pandas as pd

from jde_mc_pipeline.audit.state import DuckDBSyncedState
from jde_mc_pipeline.defs.partitions import (
    describe_window,
    extraction_window,
    key_range,
    partition_of_parties,
    upmj_partitions,
)
from jde_mc_pipeline.defs.resources import AuditStoreResource, JdeAisResource
from jde_mc_pipeline.defs.staging import PARTITION_COLUMN
from jde_mc_pipeline.jde.dates import hhmmss_to_time
from jde_mc_pipeline.jde.extract import Watermark, Window, extract_window
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.sync.companions import with_companions

JDE_GROUP = "jde_raw"
SAMPLE_ROWS = 5


def jde_asset_key(table_name: str) -> dg.AssetKey:
    """`jde/F0101`, … : the asset of a raw table."""
    return dg.AssetKey(["jde", table_name])


def _out_name(table_name: str) -> str:
    return table_name.lower()


@dg.multi_asset(
    name="jde_extract",
    outs={
        _out_name(name): dg.AssetOut(
            key=jde_asset_key(name),
            description=(
                f"{name} ({spec.title}): the full current rows of every party changed in the run's UPMJ "
                "window, as AIS returned them (typed frame, jde/frames.py), plus the party's partition_key."
            ),
            io_manager_key="staging",
            kinds={"jde", "pandas"},
        )
        for name, spec in TABLES.items()
    },
    partitions_def=upmj_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=JDE_GROUP,
    description="Reads the parties changed in the run's UPMJ window from JD Edwards AIS (one session).",
)
def jde_extract(context: dg.AssetExecutionContext, jde: JdeAisResource, audit: AuditStoreResource):
    first, last = key_range(context.partition_keys)
    window = extraction_window(first, last)
    store = audit.store()
    run_id = context.run.run_id
    store.start_run(run_id, context.job_name, first, last, _window_bounds(window, jde))
    state = DuckDBSyncedState(store)
    with jde.client() as ais:
        extraction = extract_window(ais, window)
        frames, companions = with_companions(ais, state, extraction.frames, state.legacy_customers()["an8"])
        calls = ais.stats.as_dict()
    pulled_rows = store.record_pulls(run_id, frames)
    partitions = partition_of_parties(frames, first, last)
    context.log.info(
        f"{describe_window(first, last)}: {len(extraction.an8s)} parties changed, {len(companions)} more "
        f"pulled with them (they share a record), {pulled_rows} rows kept in jde_pulls, {calls['calls']} "
        "AIS calls"
    )
    shared = {
        "upmj_window": describe_window(first, last),
        "partition_range": f"{first}...{last}",
        "watermark": str(extraction.watermark) if extraction.watermark else "no change",
        "ais_calls": calls["calls"],
        "ais_pages": calls["pages"],
        "ais_retries": calls["retries"] + calls["reauths"] + calls["restarts"],
        "parties_changed": len(extraction.an8s),
        "parties_pulled_with_them": len(companions),
    }
    for name, frame in frames.items():
        staged = frame.assign(**{PARTITION_COLUMN: _keys_for(frame, partitions, last)})
        yield dg.Output(
            staged,
            output_name=_out_name(name),
            metadata={
                **shared,
                "rows": len(frame),
                "parties": int(frame["AN8"].nunique()),
                "changed_here": len(extraction.changed_by_table.get(name, ())),
                "rows_per_partition": dg.MetadataValue.json(_per_partition(staged)),
                "sample": dg.MetadataValue.md(_sample(frame)),
            },
        )


def _window_bounds(window: Window, jde: JdeAisResource) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The window as instants in JDE's time zone, for `sync_runs` (an open start stays None)."""
    zone = ZoneInfo(jde.jde_timezone())

    def instant(mark: Watermark | None) -> dt.datetime | None:
        return None if mark is None else dt.datetime.combine(mark.day, hhmmss_to_time(mark.time), tzinfo=zone)

    return instant(window.start), instant(window.end)


def _keys_for(frame: pd.DataFrame, partitions: pd.Series, fallback: str) -> pd.Series:
    """The partition key of each row's party (rows with no party, e.g. AN8 0, go to the last key)."""
    if frame.empty:
        return pd.Series([], dtype=object, index=frame.index)
    an8 = frame["AN8"].astype("Int64")
    keys = an8.map(partitions).astype(object)
    return keys.where(keys.notna(), fallback)


def _per_partition(frame: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame[PARTITION_COLUMN].value_counts().sort_index().items()}


def _sample(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_no rows_"
    return frame.head(SAMPLE_ROWS).to_markdown(index=False)

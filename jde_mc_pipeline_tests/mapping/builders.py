"""Build the six typed frames of the table catalogue (jde/tables.py) from a few fields per row."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from jde_mc_pipeline.audit.state import DuckDBSyncedState, memory_state
from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline.mapping.options import TARGETS

STAMP = pd.Timestamp("2026-11-01 09:30:00", tz="UTC")
TODAY = dt.date(2026, 11, 27)


def table_frame(name: str, rows: list[dict], timezone: str = "UTC") -> pd.DataFrame:
    """One table as the AIS client returns it; `updated_at` derived from UPMJ/UPMT (default STAMP)."""
    table = TABLES[name]
    stamp = {"UPMJ": STAMP.tz_localize(None).normalize(), "UPMT": 93000}
    rows = [{**stamp, **row} for row in rows]
    data: dict[str, object] = {}
    for column in table.columns:
        values = [row.get(column.alias) for row in rows]
        if column.kind == "string":
            data[column.alias] = pd.Series(
                [("" if v is None else str(v).strip()) for v in values], dtype=object
            )
        elif column.kind == "number":
            data[column.alias] = pd.array(values, dtype="Int64")
        elif column.kind == "time":
            data[column.alias] = pd.array([0 if v is None else v for v in values], dtype="Int64")
        else:
            data[column.alias] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ns]")
    frame = pd.DataFrame(data)
    hhmmss = frame["UPMT"].fillna(0).astype("int64")
    offset = pd.to_timedelta(hhmmss // 10000 * 3600 + hhmmss // 100 % 100 * 60 + hhmmss % 100, unit="s")
    frame["updated_at"] = (frame["UPMJ"] + offset.to_numpy()).dt.tz_localize(timezone)
    return frame


def frames(**tables: list[dict]) -> dict[str, pd.DataFrame]:
    """All six frames; tables not given are empty."""
    return {name: table_frame(name, tables.get(name, [])) for name in TABLES}


def party(
    an8: int,
    *,
    at1: str = "C",
    alph: str = "Acme",
    email: str | None = "ann@example.com",
    first: str = "Ann",
    last: str = "Lee",
    upmj: str | None = None,
    upmt: int = 93000,
) -> dict[str, list[dict]]:
    """Rows of one typical party: F0101 + F0111 + F01151 (+ UPMJ on all when given)."""
    stamp = {"UPMJ": upmj, "UPMT": upmt} if upmj else {}
    rows = {
        "F0101": [{"AN8": an8, "ALPH": alph, "AT1": at1, **stamp}],
        "F0111": [{"AN8": an8, "IDLN": 0, "GNNM": first, "SRNM": last, **stamp}],
        "F01151": [],
    }
    if email is not None:
        rows["F01151"].append({"AN8": an8, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": email, **stamp})
    return rows


def combine(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """Concatenate rows per table from several `party(...)` dicts."""
    tables: dict[str, list[dict]] = {}
    for part in parts:
        for name, rows in part.items():
            tables.setdefault(name, []).extend(rows)
    return tables


def synced(result, state: DuckDBSyncedState | None = None) -> DuckDBSyncedState:
    """The state a clean sync of `result` leaves (every payload row written, every departure applied),
    advanced the way the sync advances it (in memory)."""
    from jde_mc_pipeline.sync.writes import TargetBatch, answered, combine_outcomes

    state = state if state is not None else memory_state()
    pushed = [answered(TargetBatch.of(result, target), "created") for target in TARGETS]
    state.record_outcomes(combine_outcomes(result.outcomes, *pushed), run_id="synced")
    return state


def remember(
    state: DuckDBSyncedState,
    target: str,
    an8: int,
    target_key: str,
    email: str,
    digest: str,
    tags: tuple[str, ...] = (),
    an8s: tuple[int, ...] = (),
) -> None:
    """Record one successful write in `state`, as the sync records it."""
    payload = {"email_address": email, "tags_active": list(tags), "an8s": list(an8s or (an8,))}
    row = {
        "an8": an8,
        "target": target,
        "target_key": target_key,
        "outcome": "created",
        "reason": "",
        "payload_hash": digest,
        "payload": payload,
    }
    state.record_outcomes(pd.DataFrame([row]), run_id="remembered")


def remember_refusal(
    state: DuckDBSyncedState, target: str, an8: int, digest: str, title: str, run_id: str = "r1"
) -> None:
    """Record that Mailchimp refused this payload of `an8` for good in run `run_id`."""
    row = {
        "an8": an8,
        "target": target,
        "target_key": "k",
        "outcome": f"rejected:{title}",
        "reason": "",
        "payload_hash": digest,
        "payload": {"key": str(an8)},
    }
    state.record_outcomes(pd.DataFrame([row]), run_id=run_id)

"""pandera contracts between the steps: the six raw extracts, the party frame, the payload frames.

The raw-extract models are generated from the table catalogue (jde/tables.py), so a column is declared
once: `string` → object `str`, never null; `number` → nullable Int64 (AN8 > 0 and the line keys
IDLN/RCK7 ≥ 0 are required); `date` → naive datetime64 (NaT allowed); `time` → Int64 HHMMSS; plus the
derived tz-aware `updated_at` in any time zone.

`validate_rows` validates lazily: failures tied to rows come back as a frame (table, an8, column,
check, value) and those rows are dropped, so one bad row never fails the batch; a failure of the
structure (a missing column, a wrong dtype) raises `StructureError` naming the frame and the columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api.types import infer_dtype
from pandera.engines import pandas_engine
from pandera.typing import Series

from jde_mc_pipeline.jde.tables import TABLES, Table
from jde_mc_pipeline.mapping.assemble import EMAIL_INVALID, EMAIL_MISSING, EMAIL_OK, TEXT_COLUMNS
from jde_mc_pipeline.mapping.options import ON_LEAVE_ACTIONS, STATUSES_IF_NEW, TARGETS
from jde_mc_pipeline.mapping.outcomes import LEFT_DELETED_IN_JDE, LEFT_NO_ROLE

FAILURE_COLUMNS: tuple[str, ...] = ("table", "an8", "column", "check", "value")

_TZ_AWARE = {"dtype_kwargs": {"time_zone_agnostic": True, "tz": "UTC"}}
_REQUIRED_NUMBERS = {"AN8": {"gt": 0}, "IDLN": {"ge": 0}, "RCK7": {"ge": 0}}


class StructureError(ValueError):
    """A frame does not have the structure its contract promises: fails the batch, loudly."""


def _all_str(cls, values: pd.Series) -> bool | pd.Series:
    """Every value is a Python str. One C pass (infer_dtype); only a failing column is looked at per
    value, to name the bad rows. (pandera's own `str` check maps a lambda over every value: too slow.)"""
    if infer_dtype(values, skipna=False) in ("string", "empty"):
        return True
    return values.map(lambda value: isinstance(value, str))


def _str_check(*columns: str):
    """A pandera column check that these object columns hold only str."""
    return pa.check(*columns, name="is_str")(_all_str)


class _Config:
    strict = False
    coerce = False


def _extract_model(table: Table) -> type[pa.DataFrameModel]:
    annotations: dict[str, object] = {}
    namespace: dict[str, object] = {"__annotations__": annotations, "Config": _Config}
    for column in table.columns:
        if column.alias in table.on_demand:  # read only when a segment field names it
            annotations[column.alias] = Series[object]
            namespace[column.alias] = pa.Field(nullable=False, required=False)
        elif column.kind == "string":
            annotations[column.alias] = Series[object]
            namespace[column.alias] = pa.Field(nullable=False)
        elif column.kind == "date":
            annotations[column.alias] = Series[pa.DateTime]
            namespace[column.alias] = pa.Field(nullable=True)
        elif column.kind == "time":
            annotations[column.alias] = Series[pd.Int64Dtype]
            namespace[column.alias] = pa.Field(nullable=False, in_range={"min_value": 0, "max_value": 235959})
        elif column.alias in _REQUIRED_NUMBERS:
            annotations[column.alias] = Series[pd.Int64Dtype]
            namespace[column.alias] = pa.Field(nullable=False, **_REQUIRED_NUMBERS[column.alias])
        else:
            annotations[column.alias] = Series[pd.Int64Dtype]
            namespace[column.alias] = pa.Field(nullable=True)
    namespace["_strings"] = _str_check(*(c.alias for c in table.columns if c.kind == "string"))
    annotations["updated_at"] = Series[pandas_engine.DateTime]
    namespace["updated_at"] = pa.Field(nullable=True, **_TZ_AWARE)
    namespace["__doc__"] = f"{table.name} ({table.title}) as the AIS client returns it."
    return type(f"{table.name}Frame", (pa.DataFrameModel,), namespace)


EXTRACT_MODELS: dict[str, type[pa.DataFrameModel]] = {name: _extract_model(t) for name, t in TABLES.items()}
"""One model per JDE table, keyed by table name (F0101Frame, F03012Frame, …)."""


class PartyFrame(pa.DataFrameModel):
    """One row per AN8 that has an F0101 row: identity, roles and contact data as JDE holds them."""

    an8: Series[np.int64] = pa.Field(gt=0, unique=True)
    company: Series[object]
    first_name: Series[object]
    last_name: Series[object]
    email: Series[object]
    email_source: Series[object]
    phone: Series[object]
    phone_source: Series[object]
    addr1: Series[object]
    addr2: Series[object]
    city: Series[object]
    state: Series[object]
    zip: Series[object]
    ctr: Series[object]
    email_problem: Series[object] = pa.Field(isin=[EMAIL_OK, EMAIL_MISSING, EMAIL_INVALID])
    _strings = _str_check(*TEXT_COLUMNS)
    is_customer: Series[bool]
    is_vendor: Series[bool]
    updated_at: Series[pandas_engine.DateTime] = pa.Field(nullable=True, **_TZ_AWARE)
    segments: Series[object] | None = pa.Field(alias="^segment", regex=True, nullable=True)
    """`segment:<label>` and `segment_code:<label>` of each configured segment field (segment_values.py)."""

    @pa.check("email", name="trimmed_lower_case")
    def _email_normalised(
        cls,  # noqa: N805 (pandera passes the model class)
        email: Series[object],
    ) -> Series[bool]:
        return email == email.str.strip().str.lower()

    @pa.dataframe_check(name="email_iff_no_problem")
    def _email_or_problem(
        cls,  # noqa: N805
        frame: pd.DataFrame,
    ) -> Series[bool]:
        return (frame["email"] != "") == (frame["email_problem"] == EMAIL_OK)

    class Config(_Config):
        strict = True


assert set(TEXT_COLUMNS) <= set(PartyFrame.to_schema().columns), "PartyFrame misses a party text column"


class _PayloadFrame(pa.DataFrameModel):
    key: Series[object] = pa.Field(unique=True)
    email_address: Series[object] = pa.Field(unique=True)
    previous_email: Series[object] = pa.Field(nullable=True)
    retires: Series[object]
    target_key: Series[object] = pa.Field(unique=True)
    an8s: Series[object]
    payload_hash: Series[object]
    _strings = _str_check("key", "email_address", "target_key", "an8s", "payload_hash")


class MemberPayloadFrame(_PayloadFrame):
    """List members to write: the `MemberWrite` fields per row, merge_fields as canonical JSON text."""

    status_if_new: Series[object] = pa.Field(isin=list(STATUSES_IF_NEW))
    merge_fields: Series[object] = pa.Field(str_startswith="{")
    tags_active: Series[object]
    tags_inactive: Series[object]
    retire_tags: Series[object]

    class Config(_Config):
        strict = True


class CustomerPayloadFrame(_PayloadFrame):
    """E-commerce customers to write: the `CustomerWrite` fields per row, address as JSON text or None."""

    customer_id: Series[object] = pa.Field(unique=True)
    opt_in_status: Series[bool]
    company: Series[object] = pa.Field(nullable=True)
    first_name: Series[object] = pa.Field(nullable=True)
    last_name: Series[object] = pa.Field(nullable=True)
    address: Series[object] = pa.Field(nullable=True)

    class Config(_Config):
        strict = True


class LeaveFrame(pa.DataFrameModel):
    """Parties leaving scope whose record gets the `on_leave` action: one row per leaving AN8."""

    an8: Series[np.int64] = pa.Field(gt=0)
    target: Series[object] = pa.Field(isin=list(TARGETS))
    target_key: Series[object]
    email_address: Series[object]
    action: Series[object] = pa.Field(isin=list(ON_LEAVE_ACTIONS))
    tags_inactive: Series[object]
    reason: Series[object] = pa.Field(isin=[LEFT_NO_ROLE, LEFT_DELETED_IN_JDE])
    holder: Series[np.int64]
    _strings = _str_check("target", "target_key", "email_address")

    class Config(_Config):
        strict = True
        unique = ("an8", "target")


class OutcomeFrame(pa.DataFrameModel):
    """Outcomes decided before any API call: one row per (pulled AN8 × target) not sent."""

    an8: Series[np.int64] = pa.Field(gt=0)
    target: Series[object] = pa.Field(isin=list(TARGETS))
    outcome: Series[object]
    reason: Series[object]
    _strings = _str_check("target", "outcome", "reason")
    target_key: Series[object] = pa.Field(nullable=True)
    payload_hash: Series[object] = pa.Field(nullable=True)

    class Config(_Config):
        strict = True
        unique = ("an8", "target")


def validate_rows(
    model: type[pa.DataFrameModel], frame: pd.DataFrame, name: str, an8_column: str = "AN8"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, failures) of `frame` against `model`; raises StructureError when the frame is broken."""
    try:
        return model.validate(frame, lazy=True, inplace=True), empty_failures()
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    except (pa.errors.SchemaError, pa.errors.ParserError) as error:
        raise StructureError(f"{name}: {error}") from None
    structural = cases["index"].isna()
    if structural.any():
        broken = cases.loc[structural]
        detail = "; ".join(
            f"{c} ({k}: {v})"
            for c, k, v in zip(broken["column"], broken["check"], broken["failure_case"], strict=True)
        )
        raise StructureError(f"{name} does not match its contract: {detail}")
    rows = frame.loc[cases["index"].to_numpy()]
    an8 = pd.to_numeric(rows[an8_column], errors="coerce") if an8_column in frame else np.nan
    failures = pd.DataFrame(
        {
            "table": name,
            "an8": pd.array(an8, dtype="Int64"),
            "column": cases["column"].astype(str).to_numpy(),
            "check": cases["check"].astype(str).to_numpy(),
            "value": cases["failure_case"].astype(str).to_numpy(),
        }
    )
    return frame.drop(index=pd.unique(cases["index"])), failures


def empty_failures() -> pd.DataFrame:
    """A failures frame with no rows."""
    frame = pd.DataFrame({column: pd.Series([], dtype=object) for column in FAILURE_COLUMNS})
    frame["an8"] = frame["an8"].astype("Int64")
    return frame

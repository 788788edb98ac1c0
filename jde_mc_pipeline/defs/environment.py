"""The one place the environment is read: every setting is a typed field that names its variable.

Why: a setting read in five places by five hand-written parsers drifts (defaults, bounds, error texts),
cannot be shown in the UI, and cannot be changed for one run. Here each setting is a pydantic field of a
resource (or of `Deployment`, the few that shape the definitions themselves) with its default, its bounds
or allowed values, its meaning in the description, and its environment variable in the field's
`json_schema_extra={"env": ...}`. `from_env` fills a model from those variables and lets pydantic parse
and check them; a bad value raises `SettingsError` naming the variable, never quoting a value (it could
be a secret). Comma-separated variables fill list fields (`JDE_MC_CUSTOMER_SEARCH_TYPES=C,X`).

`Deployment` is read when the definitions load (the partitions, schedules and sensor are built from it:
nothing is read when a module is imported); resources are built at the same moment, secrets as
`dg.EnvVar` so that Dagster resolves them when a run launches and the UI shows only their names.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError, field_validator

Model = TypeVar("Model", bound=BaseModel)


class SettingsError(ValueError):
    """A configuration variable is missing or cannot be understood."""


def env_name(model: type[BaseModel], field: str) -> str | None:
    """The environment variable of a model's field (None: the field is not read from the environment)."""
    extra = model.model_fields[field].json_schema_extra
    return extra.get("env") if isinstance(extra, dict) else None  # type: ignore[return-value]


def env_values(model: type[BaseModel], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The fields of `model` whose variable is set (blank counts as unset), as raw values for pydantic;
    a list field takes a comma-separated variable."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for field, info in model.model_fields.items():
        name = env_name(model, field)
        raw = (env.get(name) or "").strip() if name else ""
        if not raw:
            continue
        listed = "list" in str(info.annotation) or "tuple" in str(info.annotation)
        values[field] = [part.strip() for part in raw.split(",")] if listed else raw
    return values


def from_env(model: type[Model], env: Mapping[str, str] | None = None, **given: Any) -> Model:
    """`model` built from its variables (module doc), with `given` values taking precedence."""
    try:
        return model(**{**env_values(model, env), **given})
    except ValidationError as error:
        raise SettingsError("; ".join(_problem(model, problem) for problem in error.errors())) from None


def _problem(model: type[BaseModel], problem: Any) -> str:
    """One validation problem, named by its variable (or field) and pydantic's message, without the value."""
    field = str(problem["loc"][0]) if problem.get("loc") else ""
    name = (env_name(model, field) if field in model.model_fields else None) or field
    if problem.get("type") == "missing":
        return f"{name} is not set"
    return f"{name}: {problem['msg']}"


def env_text(name: str, env: Mapping[str, str] | None = None) -> str:
    """A variable's trimmed text ("" when unset): for the few values not held by a model (secrets the CLI
    passes straight to a client)."""
    return ((os.environ if env is None else env).get(name) or "").strip()


def _env(name: str) -> dict[str, str]:
    return {"env": name}


def known_zone(value: str) -> str:
    """`value` when it names an IANA time zone (a field validator of every time-zone setting)."""
    try:
        ZoneInfo(value)
    except (KeyError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


class Deployment(BaseModel):
    """What shapes the definitions themselves: the partitions, the schedules and the sensor."""

    start_date: dt.date = Field(
        description="First daily UPMJ partition (YYYY-MM-DD). It also holds all earlier history, so the "
        "initial load is that one partition; keep it recent (Dagster's bookkeeping grows with partitions).",
        json_schema_extra=_env("JDE_START_DATE"),
    )
    timezone: str = Field(
        "UTC",
        description="Time zone in which JDE writes UPMJ/UPMT: partitions are days in this zone.",
        json_schema_extra=_env("JDE_TIMEZONE"),
    )
    automation_running: bool = Field(
        False,
        description="Start the sensor and the schedules running when first loaded (otherwise: stopped).",
        json_schema_extra=_env("JDE_MC_AUTOMATION"),
    )
    schedule_cron: str = Field(
        "*/15 * * * *",
        description="Cron of jde_to_mailchimp_schedule, in the JDE time zone.",
        json_schema_extra=_env("JDE_MC_SCHEDULE_CRON"),
    )
    nightly_hour: int = Field(
        1,
        ge=0,
        le=23,
        description="The schedule's first tick at or after this hour also re-runs yesterday.",
        json_schema_extra=_env("JDE_MC_NIGHTLY_HOUR"),
    )
    sensor_interval_seconds: int = Field(
        60,
        ge=5,
        le=86400,
        description="Minimum seconds between two ticks of jde_change_sensor.",
        json_schema_extra=_env("JDE_MC_SENSOR_INTERVAL_SECONDS"),
    )
    reconciliation_cron: str = Field(
        "30 2 * * *",
        description="Cron of jde_scope_reconciliation_schedule, in the JDE time zone.",
        json_schema_extra=_env("JDE_MC_RECONCILIATION_CRON"),
    )

    @field_validator("automation_running", mode="before")
    @classmethod
    def _running(cls, value: Any) -> Any:
        """`JDE_MC_AUTOMATION=running` (the variable's documented value) means True."""
        return value.strip().lower() == "running" if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("schedule_cron", "reconciliation_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(f"{value!r} is not a cron expression")
        return value


def deployment_from_env(env: Mapping[str, str] | None = None) -> Deployment:
    """The deployment settings; `SettingsError` (shown as the code location's load error) names what is
    missing or wrong, e.g. "JDE_START_DATE is not set"."""
    return from_env(Deployment, env)

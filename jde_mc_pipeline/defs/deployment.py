"""`Deployment`: the settings that shape the definitions themselves (partitions, schedules, sensor).

Read when the definitions load (nothing is read when a module is imported), from the environment as
every setting is (settings/environment.py); the resources are built at the same moment
(defs/resources.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import BaseModel, Field, field_validator

from jde_mc_pipeline.settings.environment import from_env, known_zone, variable


class Deployment(BaseModel):
    """What shapes the definitions themselves: the partitions, the schedules and the sensor."""

    start_date: dt.date = Field(
        description="First daily UPMJ partition (YYYY-MM-DD). It also holds all earlier history, so the "
        "initial load is that one partition; keep it recent (Dagster's bookkeeping grows with partitions).",
        json_schema_extra=variable("JDE_START_DATE"),
    )
    timezone: str = Field(
        "UTC",
        description="Time zone in which JDE writes UPMJ/UPMT: partitions are days in this zone.",
        json_schema_extra=variable("JDE_TIMEZONE"),
    )
    automation_running: bool = Field(
        False,
        description="Start the sensor and the schedules running when first loaded (otherwise: stopped).",
        json_schema_extra=variable("JDE_MC_AUTOMATION"),
    )
    schedule_cron: str = Field(
        "*/15 * * * *",
        description="Cron of jde_to_mailchimp_schedule, in the JDE time zone.",
        json_schema_extra=variable("JDE_MC_SCHEDULE_CRON"),
    )
    nightly_hour: int = Field(
        1,
        ge=0,
        le=23,
        description="The schedule's first tick at or after this hour also re-runs yesterday.",
        json_schema_extra=variable("JDE_MC_NIGHTLY_HOUR"),
    )
    sensor_interval_seconds: int = Field(
        60,
        ge=5,
        le=86400,
        description="Minimum seconds between two ticks of jde_change_sensor.",
        json_schema_extra=variable("JDE_MC_SENSOR_INTERVAL_SECONDS"),
    )
    reconciliation_cron: str = Field(
        "30 2 * * *",
        description="Cron of jde_scope_reconciliation_schedule, in the JDE time zone.",
        json_schema_extra=variable("JDE_MC_RECONCILIATION_CRON"),
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
        try:  # Dagster's own check of a schedule's cron (its public API has no other)
            dg.ScheduleDefinition(name="cron_check", job_name="cron_check", cron_schedule=value)
        except dg.DagsterInvalidDefinitionError:
            raise ValueError(f"{value!r} is not a cron expression") from None
        return value


def deployment_from_env(env: Mapping[str, str] | None = None) -> Deployment:
    """The deployment settings; `SettingsError` (shown as the code location's load error) names what is
    missing or wrong, e.g. "JDE_START_DATE is not set"."""
    return from_env(Deployment, env)

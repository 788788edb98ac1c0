"""`DriftSettings`: when the drift report runs and when it warns, read when the definitions load.

Why read then, like `Deployment`: the schedule's cron shapes the definitions themselves; the threshold and
the clock skew travel with it, so that one model holds every drift setting (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
from pydantic import BaseModel, Field, field_validator

from jde_mc_pipeline.settings.environment import from_env, variable


class DriftSettings(BaseModel):
    """The drift report's schedule, warning threshold and allowance for Mailchimp's clock."""

    cron: str = Field(
        "0 5 * * *",
        description="Cron of mailchimp_drift_schedule (the drift report), in the JDE time zone.",
        json_schema_extra=variable("JDE_MC_DRIFT_CRON"),
    )
    warn_findings: int = Field(
        50,
        ge=0,
        description="The drift check warns when one drift run records more new findings than this.",
        json_schema_extra=variable("JDE_MC_DRIFT_WARN_FINDINGS"),
    )
    clock_skew_seconds: int = Field(
        300,
        ge=0,
        le=86400,
        description="Seconds subtracted from the drift watermark, for Mailchimp's clock being behind ours "
        "(members changed in the overlap are read twice; findings are recorded once).",
        json_schema_extra=variable("JDE_MC_DRIFT_CLOCK_SKEW_SECONDS"),
    )

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:  # Dagster's own check of a schedule's cron
            dg.ScheduleDefinition(name="cron_check", job_name="cron_check", cron_schedule=value)
        except dg.DagsterInvalidDefinitionError:
            raise ValueError(f"{value!r} is not a cron expression") from None
        return value


def drift_settings_from_env(env: Mapping[str, str] | None = None) -> DriftSettings:
    """The drift settings; `SettingsError` names what is wrong."""
    return from_env(DriftSettings, env)

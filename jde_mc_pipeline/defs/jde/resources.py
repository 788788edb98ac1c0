"""`JdeAisResource`: where JD Edwards AIS is and how to talk to it, every setting a typed field.

Each field names its environment variable (`json_schema_extra["env"]`, read by defs/environment.py when
the definitions load); the credentials are `dg.EnvVar`s, resolved when a run launches and shown in the
UI by name only.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator

from jde_mc_pipeline.defs.environment import known_zone
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.session import RetryPolicy


class JdeAisResource(dg.ConfigurableResource):
    """JD Edwards AIS: `with resource.client() as ais:` is one polling cycle (one token, logged out at
    the end)."""

    base_url: str = Field(
        description="AIS server base URL; the client appends /jderest/v2/…",
        json_schema_extra={"env": "JDE_AIS_URL"},
    )
    username: str = Field(description="AIS user", json_schema_extra={"env": "JDE_USERNAME"})
    password: str = Field(description="AIS password", json_schema_extra={"env": "JDE_PASSWORD"})
    environment: str | None = Field(
        None,
        description="JDE environment sent with the token request",
        json_schema_extra={"env": "JDE_ENVIRONMENT"},
    )
    role: str = Field(
        "*ALL", description="JDE role sent with the token request", json_schema_extra={"env": "JDE_ROLE"}
    )
    device_name: str = Field(
        "jde-mc-pipeline",
        description="deviceName the token is bound to",
        json_schema_extra={"env": "JDE_DEVICE_NAME"},
    )
    timezone: str = Field(
        "UTC",
        description="time zone in which JDE writes UPMJ/UPMT",
        json_schema_extra={"env": "JDE_TIMEZONE"},
    )
    page_size: int = Field(1000, ge=1, le=10000, description="rows per AIS page")
    max_attempts: int = Field(
        5,
        ge=1,
        le=20,
        description="attempts of one AIS call (transient failures)",
        json_schema_extra={"env": "JDE_MC_AIS_MAX_ATTEMPTS"},
    )

    read_sessions: int = Field(
        2,
        ge=1,
        le=6,
        description="AIS sessions reading tables at once in the initial load (1: one session, one table "
        "at a time)",
        json_schema_extra={"env": "JDE_MC_AIS_READ_SESSIONS"},
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    def client(
        self, *, retry: RetryPolicy | None = None, connect_timeout: float = 10.0, read_timeout: float = 120.0
    ) -> AisClient:
        """A new AIS client (log in with `with`; it logs out at the end of the block). `retry` and the
        timeouts: for `jde-mc ping`, which wants a quick answer rather than patience."""
        return AisClient(
            self.base_url,
            self.username,
            self.password,
            environment=self.environment or None,
            role=self.role,
            device_name=self.device_name,
            timezone=self.timezone,
            page_size=self.page_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry=retry or RetryPolicy(max_attempts=self.max_attempts),
            read_sessions=self.read_sessions,
        )

"""Where JD Edwards AIS, Mailchimp and the audit file are and how to talk to them, as typed fields.

Each model builds its plain client (`client()`, `store()`); each field names its environment variable
(environment.py). The code location's resources are these models with Dagster's machinery added
(jde_mc_pipeline/defs/*/resources.py), the `jde-mc` commands use them as they are.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from jde_mc_pipeline.audit.backends import AnyAuditStore, open_store
from jde_mc_pipeline.audit.postgres.connection import redacted
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.session import RetryPolicy as AisRetryPolicy
from jde_mc_pipeline.mailchimp.client import DEFAULT_API_URL, MailchimpClient, Recorder, RetryPolicy
from jde_mc_pipeline.mailchimp.limits import DEFAULT_CONNECTION_CAP
from jde_mc_pipeline.settings.environment import known_zone, variable

DEFAULT_AUDIT_DB = "data/audit_trail.duckdb"


class JdeSettings(BaseModel):
    """JD Edwards AIS: `with settings.client() as ais:` is one polling cycle (one token, logged out at
    the end)."""

    base_url: str = Field(
        description="AIS server base URL; the client appends /jderest/v2/…",
        json_schema_extra=variable("JDE_AIS_URL"),
    )
    username: str = Field(description="AIS user", json_schema_extra=variable("JDE_USERNAME"))
    password: str = Field(description="AIS password", json_schema_extra=variable("JDE_PASSWORD"))
    environment: str | None = Field(
        None,
        description="JDE environment sent with the token request",
        json_schema_extra=variable("JDE_ENVIRONMENT"),
    )
    role: str = Field(
        "*ALL", description="JDE role sent with the token request", json_schema_extra=variable("JDE_ROLE")
    )
    device_name: str = Field(
        "jde-mc-pipeline",
        description="deviceName the token is bound to",
        json_schema_extra=variable("JDE_DEVICE_NAME"),
    )
    timezone: str = Field(
        "UTC",
        description="time zone in which JDE writes UPMJ/UPMT",
        json_schema_extra=variable("JDE_TIMEZONE"),
    )
    page_size: int = Field(1000, ge=1, le=10000, description="rows per AIS page")
    max_attempts: int = Field(
        5,
        ge=1,
        le=20,
        description="attempts of one AIS call (transient failures)",
        json_schema_extra=variable("JDE_MC_AIS_MAX_ATTEMPTS"),
    )

    read_sessions: int = Field(
        4,
        ge=1,
        le=8,
        description="AIS sessions sharing the initial load's reads, each its own token (1: one session, "
        "one table at a time; docs/ais.md, Read sessions)",
        json_schema_extra=variable("JDE_MC_AIS_READ_SESSIONS"),
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    def client(
        self,
        *,
        retry: AisRetryPolicy | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
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
            retry=retry or AisRetryPolicy(max_attempts=self.max_attempts),
            read_sessions=self.read_sessions,
        )


class MailchimpSettings(BaseModel):
    """Mailchimp Marketing API: the account, the audience, the store, and how hard to push."""

    api_key: str = Field(
        description="<key>-<dc>; the data center is the part after the last -",
        json_schema_extra=variable("MAILCHIMP_API_KEY"),
    )
    list_id: str = Field(
        description="the audience (list) id", json_schema_extra=variable("MAILCHIMP_LIST_ID")
    )
    api_url: str = Field(
        DEFAULT_API_URL,
        description="base URL template with {dc}",
        json_schema_extra=variable("MAILCHIMP_API_URL"),
    )
    store_id: str = Field(
        "jde-e1", description="e-commerce store id", json_schema_extra=variable("MAILCHIMP_STORE_ID")
    )
    max_connections: int = Field(
        DEFAULT_CONNECTION_CAP,
        ge=1,
        le=10,
        description="simultaneous Mailchimp connections of one process (Mailchimp refuses the 11th per user)",
        json_schema_extra=variable("JDE_MC_MAX_CONNECTIONS"),
    )
    max_attempts: int = Field(
        8,
        ge=1,
        le=50,
        description="attempts of one Mailchimp call",
        json_schema_extra=variable("JDE_MC_MAILCHIMP_MAX_ATTEMPTS"),
    )
    max_retry_seconds: float = Field(
        300.0,
        ge=0,
        description="seconds one call may spend retrying",
        json_schema_extra=variable("JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS"),
    )
    customer_batch_threshold: int = Field(
        100,
        ge=0,
        description="more customers than this in one push go through /batches",
        json_schema_extra=variable("JDE_MC_CUSTOMER_BATCH_THRESHOLD"),
    )
    member_chunk_size: int = Field(
        500,
        ge=1,
        le=500,
        description="members per batch-subscribe call",
        json_schema_extra=variable("JDE_MC_MEMBER_CHUNK_SIZE"),
    )

    def client(
        self,
        recorder: Recorder | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
    ) -> MailchimpClient:
        """A new pooled client; `recorder` receives every HTTP attempt (the audit's `mailchimp_writes`).
        `retry` and `timeout`: for `jde-mc ping`, which wants a quick answer rather than patience."""
        return MailchimpClient(
            self.api_key,
            api_url=self.api_url,
            max_connections=self.max_connections,
            timeout=timeout,
            retry=retry or RetryPolicy(max_attempts=self.max_attempts, max_total_s=self.max_retry_seconds),
            recorder=recorder,
        )


class AuditSettings(BaseModel):
    """The audit trail (a DuckDB file, or a PostgreSQL database when `url` is set) and how long its raw
    rows are kept."""

    path: str = Field(
        DEFAULT_AUDIT_DB,
        description="DuckDB audit file (relative to the working directory), unless JDE_MC_AUDIT_URL is set",
        json_schema_extra=variable("JDE_MC_AUDIT_DB"),
    )
    url: str | None = Field(
        None,
        description="PostgreSQL audit database, postgresql://user:password@host:port/db (a secret: shown "
        "without its password); created and upgraded by `jde-mc audit upgrade`. Empty: the DuckDB file",
        json_schema_extra=variable("JDE_MC_AUDIT_URL"),
    )
    keep_raw_days: int | None = Field(
        None,
        ge=1,
        description="days of raw pulls (jde_pulls) and mapped values kept; pruned when a sync run closes. "
        "Runs, writes, outcomes and events are kept. Empty: kept forever",
        json_schema_extra=variable("JDE_MC_AUDIT_KEEP_RAW_DAYS"),
    )

    def store(self, *, read_only: bool = False) -> AnyAuditStore:
        """The store: PostgreSQL when `url` is set, else the DuckDB file (short lock-retrying connections,
        so parallel runs share it)."""
        return open_store(self.url or self.path, read_only=read_only)

    def location(self) -> str:
        """Where the audit is, as it may be shown (a URL without its password)."""
        return redacted(self.url) if self.url else self.path

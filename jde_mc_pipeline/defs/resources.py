"""The four resources of the code location: JDE AIS, Mailchimp, the audit store and the sync settings.

Why required values are `EnvVar`s and optional ones are read from the environment at run time: Dagster
resolves an `EnvVar` when a run launches and shows the variable's name (never its value) in the UI, but
it has no default, so a missing optional variable would fail the run. Required variables
(`JDE_AIS_URL`, `JDE_USERNAME`, `JDE_PASSWORD`, `MAILCHIMP_API_KEY`, `MAILCHIMP_LIST_ID`) are `EnvVar`s;
every optional field left at `None` falls back, when the client is built, to its variable of
README, Configuration and then to the documented default. The same variables drive `jde-mc ping` and
`dry-run`, so the CLI and Dagster always agree.

Retry knobs (documented in the README): `JDE_MC_MAILCHIMP_MAX_ATTEMPTS` (default 8) and
`JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS` (default 300) bound the retries of one Mailchimp call;
`JDE_MC_AIS_MAX_ATTEMPTS` (default 5) those of one AIS call. Tests set them low so that a 100 % fault
run takes seconds.
"""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.session import RetryPolicy as AisRetryPolicy
from jde_mc_pipeline.mailchimp.client import MailchimpClient, Recorder
from jde_mc_pipeline.mailchimp.client import RetryPolicy as MailchimpRetryPolicy
from jde_mc_pipeline.sync.settings import (
    DEFAULT_AUDIT_DB,
    SettingsError,
    SyncSettings,
    mapping_options_from_env,
)


def _env(name: str) -> str | None:
    value = (os.environ.get(name) or "").strip()
    return value or None


def _env_number(name: str, default: float, kind: type = float, minimum: float = 0) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {'whole ' if kind is int else ''}number") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


class JdeAisResource(dg.ConfigurableResource):
    """JD Edwards AIS: builds an `AisClient`; one `with resource.client() as ais:` block is one session."""

    base_url: str = Field(description="AIS server base URL (JDE_AIS_URL)")
    username: str = Field(description="AIS user (JDE_USERNAME)")
    password: str = Field(description="AIS password (JDE_PASSWORD)")
    environment: str | None = Field(default=None, description="JDE environment (JDE_ENVIRONMENT)")
    role: str | None = Field(default=None, description="JDE role (JDE_ROLE, default *ALL)")
    device_name: str | None = Field(default=None, description="token device name (JDE_DEVICE_NAME)")
    timezone: str | None = Field(default=None, description="JDE time zone (JDE_TIMEZONE, default UTC)")
    page_size: int = Field(default=1000, description="rows per AIS page")

    def jde_timezone(self) -> str:
        """The zone JDE writes UPMJ/UPMT in (field, else JDE_TIMEZONE, else UTC)."""
        return self.timezone or _env("JDE_TIMEZONE") or "UTC"

    def client(self) -> AisClient:
        """A new AIS client (log in with `with`; it logs out at the end of the block)."""
        return AisClient(
            self.base_url,
            self.username,
            self.password,
            environment=self.environment or _env("JDE_ENVIRONMENT"),
            role=self.role or _env("JDE_ROLE") or "*ALL",
            device_name=self.device_name or _env("JDE_DEVICE_NAME") or "jde-mc-pipeline",
            timezone=self.jde_timezone(),
            page_size=self.page_size,
            retry=AisRetryPolicy(max_attempts=int(_env_number("JDE_MC_AIS_MAX_ATTEMPTS", 5, int, 1))),
        )


class MailchimpResource(dg.ConfigurableResource):
    """Mailchimp Marketing API: builds a `MailchimpClient` for the audience `list_id` and store `store_id`."""

    api_key: str = Field(description="<key>-<dc> (MAILCHIMP_API_KEY)")
    list_id: str = Field(description="the audience id (MAILCHIMP_LIST_ID)")
    api_url: str | None = Field(
        default=None, description="base URL template with {dc} (MAILCHIMP_API_URL, default the real API)"
    )
    max_connections: int | None = Field(
        default=None,
        description="simultaneous connections of the process (JDE_MC_MAX_CONNECTIONS, default 8)",
    )

    @property
    def store_id(self) -> str:
        """The e-commerce store id (MAILCHIMP_STORE_ID, default jde-e1), as the sync settings read it."""
        return mapping_options_from_env(os.environ).store_id

    def retry_policy(self) -> MailchimpRetryPolicy:
        """Retry bounds of one call, from JDE_MC_MAILCHIMP_MAX_ATTEMPTS / _MAX_RETRY_SECONDS."""
        defaults = MailchimpRetryPolicy()
        return MailchimpRetryPolicy(
            max_attempts=int(_env_number("JDE_MC_MAILCHIMP_MAX_ATTEMPTS", defaults.max_attempts, int, 1)),
            max_total_s=_env_number("JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS", defaults.max_total_s),
        )

    def client(self, recorder: Recorder | None = None) -> MailchimpClient:
        """A new pooled client; `recorder` receives every HTTP attempt (the audit's `mailchimp_writes`)."""
        cap = self.max_connections or int(_env_number("JDE_MC_MAX_CONNECTIONS", 8, int, 1))
        return MailchimpClient(
            self.api_key,
            api_url=self.api_url or _env("MAILCHIMP_API_URL"),
            max_connections=cap,
            retry=self.retry_policy(),
            recorder=recorder,
        )


class AuditStoreResource(dg.ConfigurableResource):
    """The DuckDB audit trail (short lock-retrying connections, so parallel runs share the file)."""

    path: str | None = Field(
        default=None, description=f"DuckDB file (JDE_MC_AUDIT_DB, default {DEFAULT_AUDIT_DB})"
    )

    def store(self) -> AuditStore:
        return AuditStore(self.path or _env("JDE_MC_AUDIT_DB") or DEFAULT_AUDIT_DB)

    def keep_raw_days(self) -> int | None:
        """Days of raw pulls and mapped values kept (JDE_MC_AUDIT_KEEP_RAW_DAYS; unset: kept forever).

        Outcomes, writes and runs are never pruned: they are what explains a contact's history.
        """
        if _env("JDE_MC_AUDIT_KEEP_RAW_DAYS") is None:
            return None
        return int(_env_number("JDE_MC_AUDIT_KEEP_RAW_DAYS", 0, int, 1))


class SyncSettingsResource(dg.ConfigurableResource):
    """The sync's knobs (`SyncSettings.from_env`) and the thresholds of the WARN asset checks."""

    max_quarantine_rate: float | None = Field(
        default=None,
        description="share of pulled parties that may be quarantined before the check warns "
        "(JDE_MC_MAX_QUARANTINE_RATE, default 0.10)",
    )
    max_rejection_rate: float | None = Field(
        default=None,
        description="share of Mailchimp writes that may be rejected or fail before the check warns "
        "(JDE_MC_MAX_REJECTION_RATE, default 0.05)",
    )

    def settings(self) -> SyncSettings:
        return SyncSettings.from_env()

    def quarantine_threshold(self) -> float:
        if self.max_quarantine_rate is not None:
            return self.max_quarantine_rate
        return _env_number("JDE_MC_MAX_QUARANTINE_RATE", 0.10)

    def rejection_threshold(self) -> float:
        if self.max_rejection_rate is not None:
            return self.max_rejection_rate
        return _env_number("JDE_MC_MAX_REJECTION_RATE", 0.05)


RESOURCES: dict[str, dg.ConfigurableResource] = {
    "jde": JdeAisResource(
        base_url=dg.EnvVar("JDE_AIS_URL"),
        username=dg.EnvVar("JDE_USERNAME"),
        password=dg.EnvVar("JDE_PASSWORD"),
    ),
    "mailchimp": MailchimpResource(
        api_key=dg.EnvVar("MAILCHIMP_API_KEY"), list_id=dg.EnvVar("MAILCHIMP_LIST_ID")
    ),
    "audit": AuditStoreResource(),
    "sync_settings": SyncSettingsResource(),
}
"""The resources every job of the code location uses, keyed as the assets' parameters name them."""

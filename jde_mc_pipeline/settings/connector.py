"""The settings of the whole connector, read at once: what the sync's functions and the commands take.

`settings_for` makes the sync's plain `SyncSettings` from the three models that hold its parts (the code
location passes its resources, which are these models); `Connector.from_env` reads every model with the
secrets as values, for the `jde-mc` commands (in the code location they stay Dagster `EnvVar`s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jde_mc_pipeline.settings.environment import SECRETS, SettingsError, env_text, from_env, secret_values
from jde_mc_pipeline.settings.mapping import MappingSettings
from jde_mc_pipeline.settings.systems import AuditSettings, JdeSettings, MailchimpSettings
from jde_mc_pipeline.sync.settings import SyncSettings


def settings_for(mapping: MappingSettings, mailchimp: MailchimpSettings, jde_timezone: str) -> SyncSettings:
    """The value the sync's functions take, from the settings' fields."""
    return SyncSettings(
        list_id=mailchimp.list_id,
        mapping=mapping.options(mailchimp.store_id),
        customer_batch_threshold=mailchimp.customer_batch_threshold,
        member_chunk_size=mailchimp.member_chunk_size,
        jde_timezone=jde_timezone,
        resend_drifted=mapping.resend_drifted,
    )


@dataclass(frozen=True)
class Connector:
    """Every setting of the connector, its secrets as values."""

    jde: JdeSettings
    mailchimp: MailchimpSettings
    audit: AuditSettings
    mapping: MappingSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Connector:
        """Read from the environment (`env` defaults to the process's); `SettingsError` names every
        required variable that is not set, or the first model's bad values."""
        missing = [name for fields in SECRETS.values() for name in fields.values() if not env_text(name, env)]
        if missing:
            raise SettingsError("; ".join(f"{name} is not set" for name in missing))
        return cls(
            jde=from_env(JdeSettings, env, **secret_values("jde", env)),
            mailchimp=from_env(MailchimpSettings, env, **secret_values("mailchimp", env)),
            audit=from_env(AuditSettings, env),
            mapping=from_env(MappingSettings, env),
        )

    @property
    def sync(self) -> SyncSettings:
        """The sync's settings (what every step and command passes to the sync)."""
        return settings_for(self.mapping, self.mailchimp, self.jde.timezone)

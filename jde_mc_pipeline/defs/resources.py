"""The resources of the code location, built from the environment when the definitions load.

Every resource field names its variable (defs/environment.py reads them, here and nowhere else but the
CLI); the credentials and the audience stay `dg.EnvVar`s for Dagster (resolved when a run launches, shown
by name in the UI) and are read as values only for the `jde-mc` commands (`resolve_secrets=True`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from jde_mc_pipeline.defs.audit.resources import AuditStoreResource
from jde_mc_pipeline.defs.environment import Deployment, SettingsError, env_name, env_text, from_env
from jde_mc_pipeline.defs.jde.resources import JdeAisResource
from jde_mc_pipeline.defs.mailchimp.resources import MailchimpResource
from jde_mc_pipeline.defs.mapping.resources import SyncSettingsResource, settings_for
from jde_mc_pipeline.defs.staging import StagedFrameIOManager
from jde_mc_pipeline.sync.settings import SyncSettings

SECRETS: dict[str, dict[str, str]] = {
    "jde": {"base_url": "JDE_AIS_URL", "username": "JDE_USERNAME", "password": "JDE_PASSWORD"},
    "mailchimp": {"api_key": "MAILCHIMP_API_KEY", "list_id": "MAILCHIMP_LIST_ID"},
}
"""Fields given as `dg.EnvVar` to Dagster (required; the credentials and the audience)."""


def resources_from_env(
    env: Mapping[str, str] | None = None, *, resolve_secrets: bool = False
) -> dict[str, Any]:
    """Every resource, keyed as the assets' parameters name them, from the environment.

    `resolve_secrets`: read the credentials as values (the `jde-mc` commands; a missing one raises
    `SettingsError` naming it) instead of handing Dagster `dg.EnvVar`s.
    """

    if resolve_secrets:
        missing = [name for fields in SECRETS.values() for name in fields.values() if not env_text(name, env)]
        if missing:
            raise SettingsError("; ".join(f"{name} is not set" for name in missing))

    def secrets(part: str) -> dict[str, Any]:
        fields = SECRETS[part].items()
        if resolve_secrets:
            return {field: env_text(name, env) for field, name in fields}
        return {field: dg.EnvVar(name) for field, name in fields}

    return {
        "jde": from_env(JdeAisResource, env, **secrets("jde")),
        "mailchimp": from_env(MailchimpResource, env, **secrets("mailchimp")),
        "audit": from_env(AuditStoreResource, env),
        "sync_settings": from_env(SyncSettingsResource, env),
        "staging": from_env(StagedFrameIOManager, env),
    }


def settings_of(resources: Mapping[str, Any]) -> SyncSettings:
    """The sync's settings from the resources (what every step and command passes to the sync)."""
    return settings_for(resources["sync_settings"], resources["mailchimp"], resources["jde"].timezone)


@dg.definitions
def resources() -> dg.Definitions:
    """The resources every job of the code location uses."""
    return dg.Definitions(resources=resources_from_env())


SETTINGS_MODELS: tuple[type[BaseModel], ...] = (
    Deployment,
    JdeAisResource,
    MailchimpResource,
    AuditStoreResource,
    StagedFrameIOManager,
    SyncSettingsResource,
)
"""Every model that holds settings, in the order the README's settings table lists them."""


def settings_table() -> str:
    """The README's settings table (Markdown), from the fields: variable, where it lands, meaning, default.

    The README embeds it between `<!-- settings -->` markers and a test keeps them equal, so the fields
    stay the one place a setting is described: `python -m jde_mc_pipeline.defs.resources` prints it.
    """
    rows: dict[str, list[str]] = {}
    for model in SETTINGS_MODELS:
        place = "deployment" if model is Deployment else RESOURCE_KEYS[model]
        for field, info in model.model_fields.items():
            name = env_name(model, field)
            if name in rows:  # JDE_TIMEZONE: the partitions' days and the AIS client's dates
                rows[name][1] += f", `{place}.{field}`"
            elif name is not None:
                rows[name] = [f"`{name}`", f"`{place}.{field}`", str(info.description), _default(info)]
    lines = ["| variable | resource field | meaning | default |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {' | '.join(row)} |" for row in rows.values()])


RESOURCE_KEYS: dict[type[BaseModel], str] = {
    JdeAisResource: "jde",
    MailchimpResource: "mailchimp",
    AuditStoreResource: "audit",
    StagedFrameIOManager: "staging",
    SyncSettingsResource: "sync_settings",
}


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.default
    if value is None:
        return "unset"
    if isinstance(value, list):
        return "`" + ",".join(str(v) for v in value) + "`" if any(value) else "blank"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


if __name__ == "__main__":
    print(settings_table())

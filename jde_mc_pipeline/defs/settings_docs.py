"""The settings' documentation, generated from the fields: the table of docs/configuration.md and the
`.env.example` file at the root of the project.

Why generated: the fields are the one place a setting is described (its variable, default, bounds and
meaning); a hand-written list drifts from them. Tests keep both files equal to what this module prints:
`python -m jde_mc_pipeline.defs.settings_docs` (the table) and `… --env-example` (the example file).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from jde_mc_pipeline.defs.deployment import Deployment
from jde_mc_pipeline.defs.drift.settings import DriftSettings
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.defs.staging import StagedFrameIOManager
from jde_mc_pipeline.settings.environment import env_name

SETTINGS_MODELS: dict[type[BaseModel], str] = {
    Deployment: "deployment",
    JdeAisResource: "jde",
    MailchimpResource: "mailchimp",
    AuditStoreResource: "audit",
    StagedFrameIOManager: "staging",
    SyncSettingsResource: "sync_settings",
    DriftSettings: "drift",
}
"""Every model that holds settings, in the order the documentation lists them, with the key of its
resource (`deployment`, `drift`: the definitions themselves, not a resource)."""


@dataclass
class Setting:
    """One variable: where it lands (one field, or more when several read it), its meaning and default."""

    variable: str
    places: list[str]
    meaning: str
    field: FieldInfo


def settings() -> Iterator[Setting]:
    """Every variable once, in the models' order (JDE_TIMEZONE sets the partitions' days and the AIS
    client's dates: one variable, two fields)."""
    found: dict[str, Setting] = {}
    for model, place in SETTINGS_MODELS.items():
        for name, info in model.model_fields.items():
            variable = env_name(model, name)
            if variable in found:
                found[variable].places.append(f"{place}.{name}")
            elif variable is not None:
                found[variable] = Setting(variable, [f"{place}.{name}"], str(info.description), info)
    yield from found.values()


def settings_table() -> str:
    """The settings table (Markdown): variable, resource field, meaning, default."""
    lines = ["| variable | resource field | meaning | default |", "|---|---|---|---|"]
    for s in settings():
        places = ", ".join(f"`{p}`" for p in s.places)
        lines.append(f"| `{s.variable}` | {places} | {s.meaning} | {_shown_default(s.field)} |")
    return "\n".join(lines)


ENV_EXAMPLE_HEAD = """\
# Every setting of jde_mc_pipeline, with its meaning and default (docs/configuration.md says more).
# Generated from the resource fields: python -m jde_mc_pipeline.defs.settings_docs --env-example
#
# Copy it to .env and fill in the required ones (the lines without a #). A line left commented out keeps
# the default it shows. `dagster dev` reads .env from its working directory; the jde-mc commands read
# the environment only, so load it first in their shell: set -a; . ./.env; set +a
"""


def env_example() -> str:
    """The `.env.example` file: a required variable as an empty assignment to fill, every other one
    commented out with its default, each under its meaning."""
    blocks = [ENV_EXAMPLE_HEAD]
    for s in settings():
        required = s.field.is_required()
        about = f"{s.meaning} ({', '.join(s.places)}{'; required' if required else ''})"
        text = textwrap.fill(about, width=108, initial_indent="# ", subsequent_indent="# ")
        value = "" if required else _quoted(_raw_default(s.field))
        blocks.append(f"{text}\n{'' if required else '# '}{s.variable}={value}\n")
    return "\n".join(blocks)


def _raw_default(info: FieldInfo) -> str:
    """The default as the variable would spell it ("" when unset)."""
    value = info.default
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _quoted(value: str) -> str:
    """Single-quoted when a shell or python-dotenv would split or expand it (`*/15 * * * *`)."""
    return f"'{value}'" if value and any(c in value for c in " *$#'\"") else value


def _shown_default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default is None:
        return "unset"
    raw = _raw_default(info)
    return f"`{raw}`" if raw.strip(",") else "blank"


if __name__ == "__main__":
    sys.stdout.write(env_example() if "--env-example" in sys.argv[1:] else settings_table() + "\n")

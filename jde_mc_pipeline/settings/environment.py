"""The one place the environment is read: every setting is a typed field that names its variable.

Why: a setting read in five places by five hand-written parsers drifts (defaults, bounds, error texts),
cannot be shown in the UI, and cannot be changed for one run. Here each setting is a pydantic field (of a
model in this package, or of the code location's `Deployment`) with its default, its bounds or allowed
values, its meaning in the description, and its environment variable in the field's
`json_schema_extra={"env": ...}`. `from_env` fills a model from those variables and lets pydantic parse
and check them; a bad value raises `SettingsError` naming the variable, never quoting a value (it could
be a secret). Comma-separated variables fill list fields (`JDE_MC_CUSTOMER_SEARCH_TYPES=C,X`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

SECRETS: dict[str, dict[str, str]] = {
    "jde": {"base_url": "JDE_AIS_URL", "username": "JDE_USERNAME", "password": "JDE_PASSWORD"},
    "mailchimp": {"api_key": "MAILCHIMP_API_KEY", "list_id": "MAILCHIMP_LIST_ID"},
}
"""The required fields, per system: the credentials and the audience. The code location hands them to
Dagster as `EnvVar`s (resolved when a run launches, shown by name only); the commands read their values."""
OPTIONAL_SECRETS: dict[str, dict[str, str]] = {"audit": {"url": "JDE_MC_AUDIT_URL"}}
"""Optional fields that hold a secret (the audit database's URL carries a password): handed to Dagster as
`EnvVar`s like `SECRETS` when their variable is set, left unset otherwise."""


class SettingsError(ValueError):
    """A configuration variable is missing or cannot be understood."""


def variable(name: str) -> dict[str, str]:
    """A field's `json_schema_extra`: the environment variable it is read from."""
    return {"env": name}


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
    """A variable's trimmed text ("" when unset): for the few values not held by a model (the secrets the
    commands read as values)."""
    return ((os.environ if env is None else env).get(name) or "").strip()


def secret_values(part: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The values of a system's `SECRETS` (`part`: "jde" or "mailchimp"), by field."""
    return {field: env_text(name, env) for field, name in SECRETS[part].items()}


def known_zone(value: str) -> str:
    """`value` when it names an IANA time zone (a field validator of every time-zone setting)."""
    try:
        ZoneInfo(value)
    except (KeyError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value

"""What the sync needs to know besides the two clients: audience, store, mapping options, limits.

Why one frozen dataclass read from the environment: the Dagster resources, `jde-mc ping` and
`jde-mc dry-run` must agree on every knob, and the environment (README, Configuration, `.env` for
`dagster dev`) is the one place all three read. Each mapping option of mapping.md has a variable
`JDE_MC_<OPTION>` (the option's name in upper case), except the store id, which is
`MAILCHIMP_STORE_ID` (README, Configuration), and the role routing, split into `JDE_MC_CUSTOMER_TARGETS`
and `JDE_MC_VENDOR_TARGETS`. Lists are comma-separated (`JDE_MC_PHONE_TYPE_PREFERENCE=,HOM` means
blank first, then HOM); booleans are true/false, yes/no, 1/0. A value that cannot be parsed raises
`SettingsError` naming the variable, never a value that could be a secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jde_mc_pipeline.mailchimp.limits import DEFAULT_CONNECTION_CAP
from jde_mc_pipeline.mapping.options import CUSTOMER, TARGETS, VENDOR, MappingOptions

DEFAULT_AUDIT_DB = "data/audit_trail.duckdb"
"""The audit database when `JDE_MC_AUDIT_DB` is not set, relative to the working directory."""

_OPTION_PREFIX = "JDE_MC_"
_ENV_OVERRIDES = {"store_id": "MAILCHIMP_STORE_ID"}
_ROLE_TARGET_VARS = {CUSTOMER: "JDE_MC_CUSTOMER_TARGETS", VENDOR: "JDE_MC_VENDOR_TARGETS"}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class SettingsError(ValueError):
    """A configuration variable is missing or cannot be understood."""


@dataclass(frozen=True)
class SyncSettings:
    """Everything the sync decides by configuration (the clients carry URLs and credentials)."""

    list_id: str
    mapping: MappingOptions = field(default_factory=MappingOptions)
    customer_batch_threshold: int = 100
    """More customers than this in one push go through `/batches` instead of one PUT each."""
    member_chunk_size: int = 500
    """Members per batch-subscribe call (Mailchimp's maximum is 500)."""
    max_connections: int = DEFAULT_CONNECTION_CAP
    """Simultaneous Mailchimp connections of this process (Mailchimp refuses the 11th)."""
    jde_timezone: str = "UTC"
    """JDE's local time zone: decides 'today' for the current F0116 address."""
    audit_db: str = DEFAULT_AUDIT_DB
    """Path of the DuckDB audit database."""

    @property
    def store_id(self) -> str:
        return self.mapping.store_id

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_list: bool = True) -> SyncSettings:
        """Settings from the environment (README, Configuration and the `JDE_MC_*` mapping variables)."""
        env = os.environ if env is None else env
        list_id = (env.get("MAILCHIMP_LIST_ID") or "").strip()
        if require_list and not list_id:
            raise SettingsError("MAILCHIMP_LIST_ID is not set: the id of the Mailchimp audience to write to")
        timezone = (env.get("JDE_TIMEZONE") or "UTC").strip()
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise SettingsError(f"JDE_TIMEZONE {timezone!r} is not a known time zone") from None
        return cls(
            list_id=list_id,
            mapping=mapping_options_from_env(env),
            customer_batch_threshold=_int(env, "JDE_MC_CUSTOMER_BATCH_THRESHOLD", 100, minimum=0),
            member_chunk_size=_int(env, "JDE_MC_MEMBER_CHUNK_SIZE", 500, minimum=1, maximum=500),
            max_connections=_int(
                env, "JDE_MC_MAX_CONNECTIONS", DEFAULT_CONNECTION_CAP, minimum=1, maximum=10
            ),
            jde_timezone=timezone,
            audit_db=(env.get("JDE_MC_AUDIT_DB") or "").strip() or DEFAULT_AUDIT_DB,
        )

    @property
    def audit_path(self) -> Path:
        return Path(self.audit_db)


def option_variables() -> dict[str, str]:
    """Mapping option name → the environment variable that sets it (for docs and tests)."""
    names = {}
    for option in fields(MappingOptions):
        if not option.init:
            continue
        if option.name == "role_targets":
            continue
        names[option.name] = _ENV_OVERRIDES.get(option.name, _OPTION_PREFIX + option.name.upper())
    return names


def mapping_options_from_env(env: Mapping[str, str]) -> MappingOptions:
    """`MappingOptions` with every option that has a non-empty variable taken from it."""
    defaults = MappingOptions()
    values: dict[str, Any] = {}
    for name, variable in option_variables().items():
        raw = env.get(variable)
        if raw is None or raw.strip() == "":
            continue
        values[name] = _parse(variable, raw, getattr(defaults, name))
    routing = dict(defaults.role_targets)
    for role, variable in _ROLE_TARGET_VARS.items():
        raw = env.get(variable)
        if raw is not None:
            targets = tuple(t.strip() for t in raw.split(",") if t.strip())
            unknown = [t for t in targets if t not in TARGETS]
            if unknown:
                raise SettingsError(f"{variable}: unknown target(s) {unknown}; use {', '.join(TARGETS)}")
            routing[role] = targets
    values["role_targets"] = tuple(routing.items())
    try:
        return MappingOptions(**values)
    except ValueError as error:
        raise SettingsError(f"mapping options from the environment: {error}") from None


def _parse(variable: str, raw: str, default: Any) -> Any:
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise SettingsError(f"{variable} must be true or false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"{variable} must be a whole number") from None
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(","))
    return text


def _int(
    env: Mapping[str, str], variable: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    raw = (env.get(variable) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{variable} must be a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise SettingsError(f"{variable} must be {bound}")
    return value

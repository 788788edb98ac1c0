"""The settings: typed resource fields read from their variables, errors that name the variable (never the
value), defaults equal to the mapping contract's (their documentation: test_settings_docs.py)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from jde_mc_pipeline.defs.deployment import Deployment, deployment_from_env
from jde_mc_pipeline.defs.resources import JdeAisResource, SyncSettingsResource, resources_from_env
from jde_mc_pipeline.defs.settings_docs import SETTINGS_MODELS
from jde_mc_pipeline.jde.query import Condition
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.settings.connector import Connector
from jde_mc_pipeline.settings.environment import SettingsError, from_env
from jde_mc_pipeline.sync.settings import SyncSettings

SECRETS = {
    "JDE_AIS_URL": "http://127.0.0.1:9",
    "JDE_USERNAME": "JDE",
    "JDE_PASSWORD": "s3cret-password",
    "MAILCHIMP_API_KEY": "0123456789abcdef0123456789abcdef-us21",
    "MAILCHIMP_LIST_ID": "abc123",
}


def test_defaults_are_the_documented_ones() -> None:
    connector = Connector.from_env(SECRETS)
    settings = connector.sync

    assert settings == SyncSettings(list_id="abc123")
    assert settings.mapping == MappingOptions()
    assert connector.mailchimp.max_connections == 8 and connector.jde.max_attempts == 5
    assert connector.audit.path == "data/audit_trail.duckdb" and connector.audit.keep_raw_days is None
    resources = resources_from_env(SECRETS)
    assert resources["staging"].base_dir == "data/staging" and resources["staging"].keep_hours == 24
    deployment = deployment_from_env({"JDE_START_DATE": "2026-11-01"})
    assert (deployment.timezone, deployment.automation_running, deployment.schedule_cron) == (
        "UTC",
        False,
        "*/15 * * * *",
    )


def test_every_option_is_read_from_its_variable() -> None:
    env = {
        **SECRETS,
        "MAILCHIMP_STORE_ID": "store-9",
        "JDE_TIMEZONE": "America/Chicago",
        "JDE_MC_AUDIT_DB": "/var/lib/jde-mc/audit.duckdb",
        "JDE_MC_MAX_CONNECTIONS": "4",
        "JDE_MC_CUSTOMER_SEARCH_TYPES": "C, CX",
        "JDE_MC_VENDOR_TARGETS": "list_member",
        "JDE_MC_CUSTOMER_TARGETS": "none",
        "JDE_MC_STATUS_IF_NEW": "pending",
        "JDE_MC_PHONE_TYPE_PREFERENCE": ",HOM",
        "JDE_MC_BLANK_CLEARS": "yes",
        "JDE_MC_TEXT_LIMIT_BYTES": "100",
        "JDE_MC_DEFAULT_COUNTRY": "ca",
        "JDE_MC_ON_LEAVE": "archive",
        "JDE_MC_AUDIT_KEEP_RAW_DAYS": "14",
        "JDE_MC_AUTOMATION": "running",
    }
    connector = Connector.from_env(env)
    settings = connector.sync
    mapping = settings.mapping

    assert settings.store_id == "store-9" and settings.jde_timezone == "America/Chicago"
    assert connector.mailchimp.max_connections == 4
    assert connector.audit.path == "/var/lib/jde-mc/audit.duckdb" and connector.audit.keep_raw_days == 14
    assert mapping.customer_search_types == ("C", "CX")
    assert dict(mapping.role_targets) == {"customer": (), "vendor": ("list_member",)}
    assert mapping.status_if_new == "pending"
    assert mapping.phone_type_preference == ("", "HOM")
    assert mapping.blank_clears is True and mapping.text_limit_bytes == 100
    assert mapping.default_country == "CA" and mapping.on_leave == "archive"
    assert deployment_from_env({**env, "JDE_START_DATE": "2026-11-01"}).automation_running is True


def test_dagster_gets_the_secrets_as_env_vars() -> None:
    """In the code location the credentials stay `EnvVar`s: resolved at launch, shown by name only; the
    commands read them as values, and name the missing ones."""
    resources = resources_from_env(SECRETS)

    assert resources["jde"].password == dg.EnvVar("JDE_PASSWORD")
    assert resources["mailchimp"].api_key == dg.EnvVar("MAILCHIMP_API_KEY")
    with pytest.raises(SettingsError, match="JDE_PASSWORD is not set; MAILCHIMP_LIST_ID is not set"):
        Connector.from_env({**SECRETS, "JDE_PASSWORD": "", "MAILCHIMP_LIST_ID": " "})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("JDE_TIMEZONE", "Mars/Base", "JDE_TIMEZONE: Value error, 'Mars/Base' is not a known time zone"),
        ("JDE_MC_MAX_CONNECTIONS", "11", "JDE_MC_MAX_CONNECTIONS: Input should be less than or equal to 10"),
        ("JDE_MC_BLANK_CLEARS", "maybe", "JDE_MC_BLANK_CLEARS: Input should be a valid boolean"),
        ("JDE_MC_TEXT_LIMIT_BYTES", "lots", "JDE_MC_TEXT_LIMIT_BYTES: Input should be a valid integer"),
        ("JDE_MC_CUSTOMER_TARGETS", "newsletter", "JDE_MC_CUSTOMER_TARGETS: Input should be"),
        ("JDE_MC_STATUS_IF_NEW", "unsubscribed", "JDE_MC_STATUS_IF_NEW: Input should be 'subscribed'"),
        ("JDE_MC_ON_LEAVE", "delete", "JDE_MC_ON_LEAVE: Input should be 'untag', 'archive' or 'none'"),
        ("JDE_MC_DEFAULT_COUNTRY", "XX", "default_country 'XX' is not an ISO 3166 alpha-2 code"),
        ("JDE_MC_AUDIT_KEEP_RAW_DAYS", "0", "JDE_MC_AUDIT_KEEP_RAW_DAYS: Input should be greater than"),
        ("JDE_MC_SCHEDULE_CRON", "every day", "JDE_MC_SCHEDULE_CRON: Value error, 'every day' is not a cron"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str, message: str) -> None:
    env = {**SECRETS, "JDE_START_DATE": "2026-11-01", variable: value}
    with pytest.raises(SettingsError, match=message):
        Connector.from_env(env)
        deployment_from_env(env)


def test_an_error_never_quotes_a_secret() -> None:
    with pytest.raises(SettingsError) as caught:
        from_env(JdeAisResource, {}, base_url="x", username="JDE", password="s3cret-password", page_size=0)
    assert "page_size" in str(caught.value) and "s3cret" not in str(caught.value)


def test_the_jde_resource_talks_to_ais(jde_emulator: Any) -> None:
    env = {
        "JDE_AIS_URL": jde_emulator.url + "/",
        "JDE_ENVIRONMENT": "JDV920",
        "JDE_TIMEZONE": "Europe/Berlin",
    }
    resource = from_env(JdeAisResource, env, base_url=env["JDE_AIS_URL"], username="JDE", password="JDE")

    with resource.client() as client:
        frame = client.browse("F0101", [Condition("AN8", "LIST", (1001, 1002))], columns=["ALPH"])
        assert client.timezone == "Europe/Berlin" and client.date_pattern == "MM/dd/yyyy"
    assert list(frame["AN8"]) == [1001, 1002]


def test_every_setting_is_described_for_the_resource_page() -> None:
    for model in (*SETTINGS_MODELS, Deployment):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"


def test_a_run_can_override_the_mapping_options_in_the_launchpad() -> None:
    """`resources: {sync_settings: {config: {...}}}` changes an option for one run."""

    @dg.asset
    def options_seen(sync_settings: SyncSettingsResource) -> dict:
        options = sync_settings.options()
        return {"on_leave": options.on_leave, "targets": dict(options.role_targets)}

    run_config = {
        "resources": {"sync_settings": {"config": {"on_leave": "archive", "vendor_targets": ["list_member"]}}}
    }
    result = dg.materialize(
        [options_seen], resources={"sync_settings": SyncSettingsResource()}, run_config=run_config
    )

    assert result.output_for_node("options_seen") == {
        "on_leave": "archive",
        "targets": {"customer": ("list_member", "ecommerce_customer"), "vendor": ("list_member",)},
    }

"""SyncSettings from the environment: defaults, parsing, errors naming the variable, README in step."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.sync.settings import DEFAULT_AUDIT_DB, SettingsError, SyncSettings, option_variables

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_are_the_documented_ones():
    settings = SyncSettings.from_env({"MAILCHIMP_LIST_ID": "abc123"})

    assert settings.list_id == "abc123"
    assert settings.mapping == MappingOptions()
    assert settings.store_id == "jde-e1"
    assert (settings.max_connections, settings.customer_batch_threshold, settings.member_chunk_size) == (
        8,
        100,
        500,
    )
    assert settings.audit_db == DEFAULT_AUDIT_DB == "data/audit_trail.duckdb"
    assert settings.jde_timezone == "UTC"


def test_every_option_is_read_from_its_variable():
    env = {
        "MAILCHIMP_LIST_ID": "abc123",
        "MAILCHIMP_STORE_ID": "store-9",
        "JDE_TIMEZONE": "America/Chicago",
        "JDE_MC_AUDIT_DB": "/var/lib/jde-mc/audit.duckdb",
        "JDE_MC_MAX_CONNECTIONS": "4",
        "JDE_MC_CUSTOMER_SEARCH_TYPES": "C, CX",
        "JDE_MC_VENDOR_TARGETS": "list_member",
        "JDE_MC_STATUS_IF_NEW": "pending",
        "JDE_MC_PHONE_TYPE_PREFERENCE": ",HOM",
        "JDE_MC_BLANK_CLEARS": "yes",
        "JDE_MC_TEXT_LIMIT_BYTES": "100",
        "JDE_MC_DEFAULT_COUNTRY": "ca",
    }
    settings = SyncSettings.from_env(env)
    mapping = settings.mapping

    assert settings.store_id == "store-9"
    assert settings.jde_timezone == "America/Chicago" and settings.max_connections == 4
    assert settings.audit_db == "/var/lib/jde-mc/audit.duckdb"
    assert mapping.customer_search_types == ("C", "CX")
    assert dict(mapping.role_targets)["vendor"] == ("list_member",)
    assert dict(mapping.role_targets)["customer"] == ("list_member", "ecommerce_customer")
    assert mapping.status_if_new == "pending"
    assert mapping.phone_type_preference == ("", "HOM")
    assert mapping.blank_clears is True and mapping.text_limit_bytes == 100
    assert mapping.default_country == "CA"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAILCHIMP_LIST_ID", "", "MAILCHIMP_LIST_ID is not set"),
        ("JDE_TIMEZONE", "Mars/Base", "JDE_TIMEZONE 'Mars/Base'"),
        ("JDE_MC_MAX_CONNECTIONS", "11", "JDE_MC_MAX_CONNECTIONS must be between 1 and 10"),
        ("JDE_MC_BLANK_CLEARS", "maybe", "JDE_MC_BLANK_CLEARS must be true or false"),
        ("JDE_MC_TEXT_LIMIT_BYTES", "lots", "JDE_MC_TEXT_LIMIT_BYTES must be a whole number"),
        ("JDE_MC_CUSTOMER_TARGETS", "newsletter", "JDE_MC_CUSTOMER_TARGETS: unknown target"),
        ("JDE_MC_STATUS_IF_NEW", "unsubscribed", "status_if_new must be one of"),
    ],
)
def test_a_bad_value_names_its_variable(variable, value, message):
    with pytest.raises(SettingsError, match=message):
        SyncSettings.from_env({"MAILCHIMP_LIST_ID": "abc123", variable: value})


def test_the_readme_documents_every_variable():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Sync outside Dagster") :]
    names = [*option_variables().values(), "JDE_MC_CUSTOMER_TARGETS", "JDE_MC_VENDOR_TARGETS"]
    names += [
        "JDE_MC_AUDIT_DB",
        "JDE_MC_MAX_CONNECTIONS",
        "JDE_MC_CUSTOMER_BATCH_THRESHOLD",
        "JDE_MC_MEMBER_CHUNK_SIZE",
    ]
    assert [name for name in names if f"`{name}`" not in section] == []
    assert (
        len(option_variables()) == len([f for f in fields(MappingOptions) if f.init]) - 1
    )  # role_targets: two

"""The settings' documentation stays equal to the fields: the table of docs/configuration.md, and
`.env.example`, whose defaults, read the way `dagster dev` reads a `.env` file, are the fields' defaults."""

from __future__ import annotations

import io
import re
from pathlib import Path

import dotenv

from jde_mc_pipeline.defs.settings_docs import SETTINGS_MODELS, env_example, settings, settings_table
from jde_mc_pipeline.settings.environment import from_env

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "JDE_START_DATE": "2026-11-01",
    "JDE_AIS_URL": "http://127.0.0.1:9",
    "JDE_USERNAME": "JDE",
    "JDE_PASSWORD": "s3cret-password",
    "MAILCHIMP_API_KEY": "0123456789abcdef0123456789abcdef-us21",
    "MAILCHIMP_LIST_ID": "abc123",
}


def test_the_configuration_table_is_generated_from_the_fields() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    start, end = "<!-- settings: python -m jde_mc_pipeline.defs.settings_docs -->\n", "\n<!-- /settings -->"
    assert start in text and end in text, "docs/configuration.md lost its settings table markers"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table == settings_table(), "regenerate it: python -m jde_mc_pipeline.defs.settings_docs"


def test_the_env_example_is_generated_from_the_fields() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    command = "python -m jde_mc_pipeline.defs.settings_docs --env-example > .env.example"
    assert text == env_example(), f"regenerate it: {command}"


def test_the_env_example_names_every_variable_and_its_defaults_are_the_fields_defaults() -> None:
    assignments = re.findall(r"^(# )?([A-Z][A-Z0-9_]*)=(.*)$", env_example(), flags=re.MULTILINE)
    assert [name for _, name, _ in assignments] == [s.variable for s in settings()]
    assert {name for commented, name, _ in assignments if not commented} == set(REQUIRED)
    lines = [f"{name}={REQUIRED.get(name, value)}" for _, name, value in assignments]
    env = {k: v for k, v in dotenv.dotenv_values(stream=io.StringIO("\n".join(lines))).items() if v}
    for model in SETTINGS_MODELS:
        assert from_env(model, env).model_dump(mode="json") == from_env(model, REQUIRED).model_dump(
            mode="json"
        )

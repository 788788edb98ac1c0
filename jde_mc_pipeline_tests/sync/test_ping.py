"""`jde-mc ping` as a subprocess against both emulators: what it finds, that it writes nothing, and how it
fails (in plain language, exit code 1, no secret printed)."""

from __future__ import annotations

import os
import subprocess
import sys

from jde_mc_pipeline.jde.tables import TABLES
from jde_mc_pipeline_tests.sync.support import api, write_requests

PASSWORD = "s3cret-Passw0rd"


def command_env(jde, mailchimp, **changes: str | None) -> dict[str, str]:
    """The process environment without any inherited setting, pointed at the emulators."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JDE_", "MAILCHIMP_"))}
    env.update(
        JDE_AIS_URL=jde.url,
        JDE_USERNAME="MCSYNC",
        JDE_PASSWORD=PASSWORD,
        JDE_ENVIRONMENT="JDV920",
        MAILCHIMP_API_KEY=mailchimp.api_key,
        MAILCHIMP_API_URL=mailchimp.api_url,
        MAILCHIMP_LIST_ID=mailchimp.list_id,
    )
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def jde_mc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jde_mc_pipeline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ping_reports_both_systems_and_creates_nothing(jde_emulator_factory, mailchimp_emulator):
    jde = jde_emulator_factory(demo=20, username="MCSYNC", password=PASSWORD)

    done = jde_mc("ping", env=command_env(jde, mailchimp_emulator))

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "token issued" in out and "logged out" in out
    for name in TABLES:
        assert f"JDE table {name} " in out and "readable" in out
    assert "JDE table F0005 (User Defined Codes) is readable and has rows" in out
    assert f"audience {mailchimp_emulator.list_id!r} found" in out
    assert "merge fields compatible" in out
    assert "COMPANY, JDEAN8 missing: the first sync creates them" in out
    assert "store 'jde-e1' does not exist yet" in out
    assert "PROBLEM" not in out
    assert write_requests(mailchimp_emulator) == 0
    assert PASSWORD not in out + done.stderr
    assert mailchimp_emulator.api_key.rpartition("-")[0] not in out + done.stderr


def test_ping_explains_what_is_wrong_and_exits_non_zero(jde_emulator_factory, mailchimp_emulator):
    jde = jde_emulator_factory(demo=5, username="MCSYNC", password=PASSWORD)
    stopped = jde_emulator_factory(demo=1)
    stopped.stop()
    wrong_key = "f" * 32 + "-us9"
    api(
        mailchimp_emulator,
        "POST",
        f"/lists/{mailchimp_emulator.list_id}/merge-fields",
        {"tag": "JDEAN8", "name": "AN8", "type": "number"},
    )

    bad_password = jde_mc("ping", env=command_env(jde, mailchimp_emulator, JDE_PASSWORD="not-the-password"))
    unreachable = jde_mc("ping", env=command_env(stopped, mailchimp_emulator, MAILCHIMP_API_KEY=wrong_key))
    missing = jde_mc(
        "ping", env=command_env(jde, mailchimp_emulator, JDE_USERNAME=None, MAILCHIMP_LIST_ID=None)
    )

    assert bad_password.returncode == 1
    assert "refused the credentials of user 'MCSYNC'" in bad_password.stdout
    assert "merge field JDEAN8 is of type 'number'" in bad_password.stdout
    assert "not-the-password" not in bad_password.stdout + bad_password.stderr
    assert unreachable.returncode == 1
    assert "cannot be reached" in unreachable.stdout
    assert "refused the API key" in unreachable.stdout
    assert "f" * 32 not in unreachable.stdout + unreachable.stderr
    assert missing.returncode == 1
    assert "environment variable(s) not set: JDE_USERNAME, MAILCHIMP_LIST_ID" in missing.stdout
    for done in (bad_password, unreachable, missing):
        assert "Traceback" not in done.stderr

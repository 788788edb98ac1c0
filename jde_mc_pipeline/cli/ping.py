"""`jde-mc ping`: are the configured JDE AIS server and Mailchimp account usable? Reads only.

Why a separate check: the first thing a user does against their own systems is find out whether the
credentials, URLs, audience and store are right, and the answer must be a sentence, not a traceback.
JDE: token request, one row of each of the six tables and of F0005 (user-defined codes), logout.
Mailchimp: `/ping`, the audience, its merge fields (types compatible? which would a sync create?), the
store (present, or creatable). Nothing is created: ping must be safe to run against production.

Every line printed goes through `scrub` with the configured password and API key, on top of the
clients' own care, so that no secret can be printed even by an unexpected error text. Secrets shorter
than `MIN_SCRUBBED` characters are left to the clients: scrubbing the emulator's password `JDE` would
blank out every table name, and such a password is no secret anyway.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from jde_mc_pipeline.jde.errors import AisAuthError, AisError, scrub
from jde_mc_pipeline.jde.session import RetryPolicy as AisRetryPolicy
from jde_mc_pipeline.jde.tables import F0005, TABLES
from jde_mc_pipeline.mailchimp.client import MailchimpClient, RetryPolicy
from jde_mc_pipeline.mailchimp.errors import AudienceNotFoundError, MailchimpApiError, MailchimpError
from jde_mc_pipeline.mapping.segments import udc_columns
from jde_mc_pipeline.settings.environment import SettingsError, env_text, from_env, secret_values
from jde_mc_pipeline.settings.mapping import MappingSettings
from jde_mc_pipeline.settings.systems import JdeSettings, MailchimpSettings
from jde_mc_pipeline.sync.inspection import inspect_audience
from jde_mc_pipeline.sync.settings import SyncSettings

REQUIRED = ("JDE_AIS_URL", "JDE_USERNAME", "JDE_PASSWORD", "MAILCHIMP_API_KEY", "MAILCHIMP_LIST_ID")
SECRETS = ("JDE_PASSWORD", "MAILCHIMP_API_KEY")
MIN_SCRUBBED = 6
_QUICK_MAILCHIMP = RetryPolicy(max_attempts=3, max_total_s=30.0, base_wait_s=0.5, max_wait_s=5.0)
_QUICK_AIS = AisRetryPolicy(max_attempts=2, initial_wait=0.5, max_wait=2.0)


class Report:
    """Lines of findings, printed as they come, and whether any of them is a problem."""

    def __init__(self, out: TextIO, secrets: list[str]) -> None:
        self.out = out
        self.secrets = secrets
        self.problems = 0

    def ok(self, text: str) -> None:
        self._print("ok      ", text)

    def note(self, text: str) -> None:
        self._print("note    ", text)

    def problem(self, text: str) -> None:
        self.problems += 1
        self._print("PROBLEM ", text)

    def _print(self, mark: str, text: str) -> None:
        print(mark + scrub(text, self.secrets), file=self.out, flush=True)


def run_ping(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Check both systems; 0 when both are usable, 1 otherwise (the reasons are printed). `env` defaults
    to the process environment, read as the resources read it (settings/environment.py)."""
    secrets = [env_text(name, env) for name in SECRETS]
    report = Report(out or sys.stdout, [secret for secret in secrets if len(secret) >= MIN_SCRUBBED])
    missing = [name for name in REQUIRED if not env_text(name, env)]
    if missing:
        report.problem(f"environment variable(s) not set: {', '.join(missing)} (see .env.example)")
    if not any(name.startswith("JDE_") for name in missing):
        check_jde(env, report)
    if "MAILCHIMP_API_KEY" not in missing:
        check_mailchimp(env, report, list_needed="MAILCHIMP_LIST_ID" not in missing)
    if report.problems:
        found = report.problems
        report.problem(f"{found} problem(s) found: fix them and ping again")
        return 1
    report.ok("both systems are usable")
    return 0


def check_jde(env: Mapping[str, str] | None, report: Report) -> None:
    """Token request, one row per table, logout."""
    try:
        jde = from_env(JdeSettings, env, **secret_values("jde", env))
        client = jde.client(retry=_QUICK_AIS, connect_timeout=10.0, read_timeout=60.0)
    except (SettingsError, ValueError) as error:
        report.problem(f"JDE settings: {error}")
        return
    where = f"AIS server {client.base_url}"
    try:
        client.login()
    except AisAuthError as error:
        report.problem(
            f"{where} refused the credentials of user {jde.username!r} (environment "
            f"{jde.environment or 'default'}, role {jde.role}): {error}"
        )
        client.close()
        return
    except AisError as error:
        report.problem(f"{where} cannot be reached or did not answer as AIS does: {error}")
        client.close()
        return
    report.ok(f"{where}: token issued for user {jde.username!r}")
    try:
        for name, table in TABLES.items():
            try:
                frame, _ = client.first_page(name, None, ["AN8"], ["AN8"], 1)
            except AisError as error:
                report.problem(f"JDE table {name} ({table.title}) cannot be read: {error}")
                continue
            state = "has rows" if len(frame) else "is empty"
            report.ok(f"JDE table {name} ({table.title}) is readable and {state}")
        check_udc(client, env, report)
    finally:
        client.logout()
        client.close()
    report.ok("AIS session logged out")


def check_udc(client: Any, env: Mapping[str, str] | None, report: Report) -> None:
    """One row of F0005 (user-defined codes): a problem when the segment fields send descriptions and it
    cannot be read, a note otherwise (the sync reads it only for them)."""
    try:
        needed = bool(udc_columns(from_env(MappingSettings, env).options().segment_fields))
    except SettingsError as error:
        report.problem(f"mapping settings: {error}")
        return
    title = f"JDE table F0005 ({F0005.title})"
    try:
        frame, _ = client.first_page("F0005", None, ["SY", "RT", "KY"], ["SY"], 1)
    except AisError as error:
        (report.problem if needed else report.note)(f"{title} cannot be read: {error}")
        return
    if needed and not len(frame):
        report.note(f"{title} is empty: the segment fields will send codes instead of descriptions")
        return
    report.ok(f"{title} is readable and {'has rows' if len(frame) else 'is empty'}")


def check_mailchimp(env: Mapping[str, str] | None, report: Report, *, list_needed: bool) -> None:
    """`/ping`, audience, merge fields, store: reads only."""
    try:
        mailchimp = from_env(MailchimpSettings, env, **secret_values("mailchimp", env))
        options = from_env(MappingSettings, env).options(mailchimp.store_id)
        settings = SyncSettings(list_id=mailchimp.list_id, mapping=options)
        client = mailchimp.client(retry=_QUICK_MAILCHIMP, timeout=(10.0, 30.0))
    except (MailchimpError, SettingsError) as error:
        report.problem(f"Mailchimp settings: {error}")
        return
    with client:
        try:
            health = client.ping()
        except MailchimpApiError as error:
            report.problem(_mailchimp_reason(client, error))
            return
        report.ok(f"Mailchimp at {client.base_url} answers: {health or 'ok'}")
        if not list_needed:
            return
        try:
            found = inspect_audience(client, settings)
        except AudienceNotFoundError as error:
            report.problem(str(error))
            return
        except MailchimpApiError as error:
            report.problem(_mailchimp_reason(client, error))
            return
        _report_audience(found, report)


def _report_audience(found: Any, report: Report) -> None:
    audience = found.audience
    report.ok(
        f"audience {audience['id']!r} found: {audience.get('name')!r}, "
        f"{audience.get('member_count')} contacts"
    )
    if found.conflicts:
        for tag, (actual, wanted) in sorted(found.conflicts.items()):
            report.problem(
                f"merge field {tag} is of type '{actual}' but the connector needs "
                f"{' or '.join(repr(t) for t in wanted)}: a sync would stop before writing"
            )
    else:
        report.ok(f"merge fields compatible ({', '.join(sorted(found.merge_fields))})")
    if found.to_create:
        report.note(f"merge field(s) {', '.join(found.to_create)} missing: the first sync creates them")
    if found.missing:
        report.note(
            f"merge field(s) {', '.join(found.missing)} removed from the audience: their values are dropped"
        )
    if found.required_unfilled:
        report.problem(
            f"required merge field(s) {', '.join(found.required_unfilled)} are not filled by the connector: "
            "Mailchimp would refuse every new contact (make them optional)"
        )
    if found.store_conflict:
        report.problem(found.store_conflict)
    elif found.store is None:
        report.ok(f"e-commerce store {found.store_id!r} does not exist yet: the first sync creates it")
    else:
        report.ok(f"e-commerce store {found.store_id!r} present, bound to this audience")


def _mailchimp_reason(client: MailchimpClient, error: MailchimpApiError) -> str:
    if error.status == 401:
        return (
            f"Mailchimp at {client.base_url} refused the API key (wrong key, or a key of another data "
            f"center than '{client.dc}'): {error}"
        )
    if error.status is None:
        return f"Mailchimp at {client.base_url} cannot be reached: {error}"
    return f"Mailchimp at {client.base_url}: {error}"


def main(options: dict[str, Any]) -> int:
    """`jde-mc ping` (no options)."""
    return run_ping()

"""`jde-mc history <AN8 or e-mail> [--live] [--json]`: a record's story from the audit, on a terminal.

Why a command: "when was this customer last checked and synced, and what did Mailchimp say?" is the
question the audit exists to answer, and hand-written SQL (docs/audit.md) is too slow an answer for a
support call. It reads the audit store read-only (audit/history.py gathers the story, on either backend)
and prints it per target: a summary (last checked, last synced with what was sent and answered, the
record held now, a refusal held, departures, renames, replays), then a timeline of every outcome,
HTTP attempt, mapping event and field change, oldest first. `--json` prints the same story for scripts
(keys in docs/cli.md). `--live` reads Mailchimp (GETs only: the member by its subscriber hash, the
customer by its id) and shows its values beside what we last sent, the differing ones marked.

The text is audit/history_text.py's, which is also the report of the Dagster job `record_history`
(defs/history/), so both read alike.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from jde_mc_pipeline.audit.history import RecordNotFoundError, add_live, record_history
from jde_mc_pipeline.audit.history_text import render
from jde_mc_pipeline.audit.postgres.connection import AuditDatabaseError
from jde_mc_pipeline.audit.postgres.migrations import SchemaNotReadyError
from jde_mc_pipeline.mailchimp.errors import MailchimpError
from jde_mc_pipeline.settings.environment import from_env, secret_values
from jde_mc_pipeline.settings.systems import AuditSettings, MailchimpSettings


def main(options: dict[str, Any]) -> int:
    """`jde-mc history <AN8 or e-mail> [--live] [--json]`."""
    return run_history(options["record"], live=options.get("live", False), as_json=options.get("json", False))


def run_history(
    record: str,
    env: Mapping[str, str] | None = None,
    *,
    live: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
) -> int:
    """Print the history of `record` (an AN8 or an e-mail); 0, or 1 with the reason when the audit does not
    know it or cannot be read. `env` defaults to the process environment."""
    out = out or sys.stdout
    try:
        audit = from_env(AuditSettings, env)
        if not audit.url and not Path(audit.path).exists():
            print(f"history: no audit database at {audit.path} (no sync has run here yet)", file=out)
            return 1
        history = record_history(audit.store(read_only=True), record)
        if live:
            mailchimp = from_env(MailchimpSettings, env, **secret_values("mailchimp", env))
            with mailchimp.client(timeout=(10.0, 30.0)) as client:
                add_live(history, client, mailchimp.list_id, mailchimp.store_id)
    except (
        RecordNotFoundError,
        ValueError,
        AuditDatabaseError,
        SchemaNotReadyError,
        MailchimpError,
    ) as error:
        print(f"history: {error}", file=out)
        return 1
    print(json.dumps(history, indent=2, ensure_ascii=False) if as_json else render(history), file=out)
    return 0

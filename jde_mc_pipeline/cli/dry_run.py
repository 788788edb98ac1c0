"""`jde-mc dry-run`: extract and map against the configured systems and print what a sync would do.

Why: it is what a user runs first against their own JDE and Mailchimp, so it must be safe (no write to
Mailchimp, none to the audit database) and say per outcome how many and which parties. It reads from
Mailchimp only the audience's merge fields and the members the payloads target (member_reads.py), and
from the audit database only the last synced state, read-only (an absent file means an empty state:
everything counts as new to the connector). Predictions and their limits are described in
sync/predicted_outcomes.py; the window: UPMJ in [start, end], no start = all history through end, no end
= today in JDE's time zone. The settings are the resources' (settings/), read from the environment.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from jde_mc_pipeline.audit.backends import AnySyncedState, synced_state
from jde_mc_pipeline.audit.postgres.connection import AuditDatabaseError
from jde_mc_pipeline.audit.postgres.migrations import SchemaNotReadyError
from jde_mc_pipeline.audit.state import memory_state
from jde_mc_pipeline.jde.errors import AisError
from jde_mc_pipeline.jde.extract import Window, jde_now
from jde_mc_pipeline.mailchimp.errors import MailchimpError
from jde_mc_pipeline.mapping.options import TARGETS
from jde_mc_pipeline.mapping.outcomes import in_family_order
from jde_mc_pipeline.settings.connector import Connector
from jde_mc_pipeline.settings.environment import SettingsError
from jde_mc_pipeline.settings.systems import AuditSettings
from jde_mc_pipeline.sync.dry_run import likely_refusals, predict_sync
from jde_mc_pipeline.sync.inspection import MergeFieldFindings, merge_field_specs
from jde_mc_pipeline.sync.progress import Progress
from jde_mc_pipeline.sync.stages import pull_window
from jde_mc_pipeline.sync.writes import map_frames


def main(options: dict[str, Any]) -> int:
    """`jde-mc dry-run [--start DATE] [--end DATE] [--sample N]`."""
    return run_dry_run(start=options.get("start"), end=options.get("end"), sample=options.get("sample", 5))


def run_dry_run(
    env: Mapping[str, str] | None = None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    sample: int = 5,
    out: TextIO | None = None,
) -> int:
    """Print the predicted outcomes; 0 when done, 1 with a plain-language reason when it cannot run.
    `env` defaults to the process environment (read as the resources read it, settings/environment.py)."""
    out = out or sys.stdout
    began = time.perf_counter()
    try:
        connector = Connector.from_env(env)
        settings = connector.sync
        ais, mailchimp = connector.jde.client(), connector.mailchimp.client()
    except (SettingsError, ValueError, MailchimpError) as error:
        print(f"dry-run cannot start: {error}", file=out)
        return 1
    today = jde_now(settings.jde_timezone).day
    end = end or today
    if start is not None and start > end:
        print(f"dry-run cannot start: --start {start} is after --end {end}", file=out)
        return 1
    window = Window.days(start, end) if start else Window.through(end)
    try:
        state, state_note = open_state(connector.audit)
    except (SchemaNotReadyError, AuditDatabaseError) as error:
        print(f"dry-run cannot start: {error}", file=out)
        return 1
    try:
        with ais, Progress("reading JDE", out) as progress:
            ais.on_page = progress.pages
            pulled = pull_window(ais, state, window, settings.mapping)
    except AisError as error:
        print(f"dry-run: reading JDE failed: {error}", file=out)
        return 1
    finally:
        ais.close()
    result = map_frames(pulled.frames, settings, state, today, deleted=pulled.deleted)
    emails = pd.Series(result.parties["email"].to_numpy(), index=result.parties["an8"].to_numpy())
    with mailchimp:
        try:
            prediction = predict_sync(
                result.members,
                result.customers,
                result.leaves,
                result.outcomes,
                emails,
                mailchimp,
                settings.list_id,
                state,
                merge_field_specs(settings.mapping),
            )
        except MailchimpError as error:
            print(f"dry-run: reading Mailchimp failed: {error}", file=out)
            return 1
        reads = int(mailchimp.stats["requests"])
    table, fields, contacts = prediction.table, prediction.fields, prediction.contacts

    window_text = f"UPMJ in [{start}, {end}]" if start else f"UPMJ on or before {end} (all history)"
    print(
        f"JDE: {window_text}: {len(result.pulled)} parties pulled ({len(pulled.companions)} of them because "
        f"they share a record with a changed party), {ais.stats.calls} AIS calls",
        file=out,
    )
    print(f"synced state: {state_note}", file=out)
    print(
        f"Mailchimp: read the audience's merge fields and looked up the {len(contacts)} member(s) the "
        f"payloads target, {sum(c is not None for c in contacts.values())} found ({reads} GET requests)",
        file=out,
    )
    print(
        "nothing was written: no request but GET went to Mailchimp, the audit database was not written",
        file=out,
    )
    print_merge_fields(fields, out)
    print_counts(table, out)
    print_samples(table, sample, out)
    print_events(result.events, sample, out)
    print_refusals(table, fields, sample, out)
    print(f"done in {time.perf_counter() - began:.1f} s", file=out)
    return 0


def open_state(audit: AuditSettings) -> tuple[AnySyncedState, str]:
    """The last synced state of the audit database, read-only; an empty one when the DuckDB file is
    absent (a PostgreSQL database must exist and be upgraded: the store says how)."""
    if not audit.url and not Path(audit.path).exists():
        return memory_state(), f"none ({audit.path} does not exist): every record is new to the connector"
    state = synced_state(audit.store(read_only=True))
    counts = state.count()
    held = ", ".join(f"{n} {target}" for target, n in sorted(counts.items())) or "no records"
    return state, f"{audit.location()} (read-only): {held}"


def print_merge_fields(fields: MergeFieldFindings, out: TextIO) -> None:
    for tag, (actual, wanted) in sorted(fields.conflicts.items()):
        print(
            f"WOULD STOP: merge field {tag} is of type '{actual}', the connector needs "
            f"{' or '.join(wanted)}: a sync stops before any write",
            file=out,
        )
    if fields.to_create:
        print(f"merge fields a sync would create: {', '.join(fields.to_create)}", file=out)
    if fields.missing:
        print(
            f"merge fields removed from the audience (values dropped): {', '.join(fields.missing)}", file=out
        )


def print_counts(table: pd.DataFrame, out: TextIO) -> None:
    """`counts <target> <outcome> <n>` lines, in a fixed order (easy to read and to parse)."""
    print("\ncounts per target and outcome:", file=out)
    for target in TARGETS:
        rows = table.loc[table["target"] == target, "outcome"].value_counts()
        for outcome in sorted(rows.index, key=in_family_order):
            print(f"counts {target} {outcome} {rows[outcome]}", file=out)


def print_samples(table: pd.DataFrame, sample: int, out: TextIO) -> None:
    print(f"\nsamples (at most {sample} per outcome):", file=out)
    for (target, outcome), rows in sorted(
        table.groupby(["target", "outcome"]), key=lambda g: (g[0][0], in_family_order(g[0][1]))
    ):
        print(f"  {target} {outcome} ({len(rows)}):", file=out)
        for row in rows.head(sample).itertuples(index=False):
            extra = "; ".join(part for part in (row.flag, row.detail) if isinstance(part, str) and part)
            print(f"    AN8 {row.an8} {row.email or '-'}{'  ' + extra if extra else ''}", file=out)


def print_events(events: pd.DataFrame, sample: int, out: TextIO) -> None:
    """The facts a sync would record in `mapping_events`, per target and event, with examples."""
    print("\nmapping events (what a sync records in mapping_events):", file=out)
    if events.empty:
        print("  none", file=out)
    for (target, event), rows in events.groupby(["target", "event"], sort=True):
        print(f"events {target} {event} {len(rows)}", file=out)
        for row in rows.head(sample).itertuples(index=False):
            print(f"    AN8 {row.an8} {row.detail}", file=out)


def print_refusals(table: pd.DataFrame, fields: MergeFieldFindings, sample: int, out: TextIO) -> None:
    """What Mailchimp would likely refuse or not apply (sync/dry_run.py), with sample parties."""
    print("\nwhat Mailchimp would likely refuse or not apply:", file=out)
    found = likely_refusals(table, fields)
    for refusal in found:
        print(f"  {refusal.text}", file=out)
        for row in refusal.rows.head(sample).itertuples(index=False):
            print(f"    AN8 {row.an8} {row.email}", file=out)
    if not found:
        print("  nothing detected (permanently deleted addresses cannot be seen before a write)", file=out)

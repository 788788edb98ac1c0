"""`jde-mc`: the command line (docs/cli.md and docs/emulators.md).

Each sub-command imports its implementation lazily, so `jde-mc emulate jde` pays for nothing else; `ping`
and `dry-run` (modules of this package) use the settings and clients without Dagster.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence


def _churn(text: str) -> tuple[int, float]:
    """Parse `K/S` (K parties every S seconds)."""
    try:
        count, seconds = text.split("/")
        parsed = int(count), float(seconds)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--churn takes K/S, e.g. 5/10, not {text!r}") from None
    if parsed[0] < 0 or parsed[1] <= 0:
        raise argparse.ArgumentTypeError("--churn needs K >= 0 and S > 0")
    return parsed


def _date(text: str) -> dt.date:
    """Parse `YYYY-MM-DD`."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jde-mc",
        description="Keeps Mailchimp in step with JD Edwards EnterpriseOne: emulators, checks, demo.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    emulate = commands.add_parser("emulate", help="serve an emulator of JDE AIS or Mailchimp on 127.0.0.1")
    systems = emulate.add_subparsers(dest="system", required=True)

    jde = systems.add_parser("jde", help="the JD Edwards AIS Server emulator")
    jde.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    source = jde.add_mutually_exclusive_group()
    source.add_argument("--data", dest="data_dir", help="folder of <TABLE>.csv database exports")
    source.add_argument("--demo", type=int, help="generate N realistic parties")
    jde.add_argument("--seed", type=int, help="seed for demo data, churn and faults")
    jde.add_argument("--token-ttl", type=float, help="seconds a token may stay idle")
    jde.add_argument("--latency-ms", type=float, help="added latency per call")
    jde.add_argument("--fault-rate", type=float, help="share of calls that meet a fault (0..1)")
    jde.add_argument("--churn", type=_churn, help="K/S: change K random parties every S seconds")
    jde.add_argument("--username", help="accepted user name (default JDE)")
    jde.add_argument("--password", help="accepted password (default JDE)")

    mc = systems.add_parser("mailchimp", help="the Mailchimp Marketing API emulator")
    mc.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    mc.add_argument("--api-key", help="accepted API key, <hex>-<dc>")
    mc.add_argument("--list-id", help="id of the audience it starts with")
    mc.add_argument("--latency-ms", type=float, help="added latency per request")
    mc.add_argument("--fault-rate", type=float, help="share of requests that meet a fault (0..1)")
    mc.add_argument("--max-connections", type=int, help="simultaneous requests per key before 429")
    mc.add_argument("--state", dest="state_file", help="JSON file to start from and save to")
    mc.add_argument("--seed", type=int, help="seed for fault injection and the marketer's actions")
    mc.add_argument("--marketer", type=_churn, help="K/S: K hand-made marketer changes every S seconds")

    demo = commands.add_parser("demo", help="both emulators with demo data and the Dagster UI, automation on")
    demo.add_argument("--dagster-port", type=int, help="port of the Dagster UI on 127.0.0.1 (default 3000)")
    demo.add_argument("--parties", type=int, help="demo parties in the JDE emulator (default 1000)")
    demo.add_argument("--churn", type=_churn, help="K/S: change K parties every S seconds (default 5/30)")
    demo.add_argument("--seed", type=int, help="seed for demo data, churn and faults (default 0)")

    commands.add_parser("ping", help="check the configured JDE AIS and Mailchimp (reads only)")
    dry_run = commands.add_parser(
        "dry-run", help="extract and map, and print what a sync would do (no writes)"
    )
    dry_run.add_argument("--start", type=_date, help="first UPMJ date, YYYY-MM-DD (default: all history)")
    dry_run.add_argument("--end", type=_date, help="last UPMJ date, YYYY-MM-DD (default: today)")
    dry_run.add_argument("--sample", type=int, help="rows shown per outcome (default 5)")

    history = commands.add_parser("history", help="a record's story from the audit: checks, writes, answers")
    history.add_argument("record", help="an AN8 (digits) or an e-mail address")
    history.add_argument("--live", action="store_true", help="also read what Mailchimp holds now (GETs only)")
    history.add_argument("--json", action="store_true", help="print JSON for scripts (keys in docs/cli.md)")

    audit = commands.add_parser("audit", help="the audit store's schema: its version, and its upgrade")
    audit.add_argument(
        "action",
        choices=("upgrade", "status"),
        help="upgrade: create the schema or bring it up to date (needed on PostgreSQL); status: its version",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `jde-mc` console script."""
    args = _parser().parse_args(argv)
    options = {k: v for k, v in vars(args).items() if v is not None and k not in ("command", "system")}
    if args.command == "emulate" and args.system == "jde":
        from jde_mc_pipeline.emulators.ais.server import main as serve_jde

        return serve_jde(options)
    if args.command == "emulate" and args.system == "mailchimp":
        from jde_mc_pipeline.emulators.mailchimp.server import main as serve_mailchimp

        return serve_mailchimp(options)
    if args.command == "demo":
        from jde_mc_pipeline.demo import main as run_demo

        return run_demo(options)
    if args.command == "ping":
        from jde_mc_pipeline.cli.ping import main as ping

        return ping(options)
    if args.command == "dry-run":
        from jde_mc_pipeline.cli.dry_run import main as dry_run

        return dry_run(options)
    if args.command == "history":
        from jde_mc_pipeline.cli.history import main as history

        return history(options)
    if args.command == "audit":
        from jde_mc_pipeline.cli.audit import main as audit

        return audit(options)
    raise AssertionError(f"unhandled command {args.command}")

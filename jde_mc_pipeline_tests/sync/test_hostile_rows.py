"""Hostile JDE data over real HTTP: a bad record never fails the whole batch and never vanishes silently.

Three ways bad data meets the connector, each the way it would in production:
- an export the emulator's CSV loader refuses: the load stops naming the file, the line and the column, so
  a user fixes the export instead of syncing a silently thinned copy of it;
- an export the loader accepts although its rows are hostile (control characters, invalid keys, the
  longest fields, missing columns): the sync finishes, each bad party gets a specific quarantine reason,
  the good ones reach Mailchimp, and every pulled party has exactly one outcome per target;
- values that JDE stores but the typed frames cannot hold (a float or 20-digit AN8, a valid Julian date
  beyond pandas' year 2262): the extraction stops with a message naming the table, column and row.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB as JOB
from jde_mc_pipeline.emulators.ais.csv_loader import CsvLoadError, read_export
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.extract import extract_through
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.sync.settings import SyncSettings
from jde_mc_pipeline.sync.stages import BatchReport, sync_batch
from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import jde_upsert, member, rows

F0101_HEADER = "ABAN8,ABALPH,ABAT1,ABUPMJ,ABUPMT"
GOOD_F0101 = "5001,Good Customer,C,125300,80000"
TODAY = DATASET_NOW.date()
LONGEST_EMAIL = "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "acme.net"
"""256 characters, F01151.EMAL's whole length: two more than an e-mail address may have."""


def write_export(folder: Path, tables: dict[str, list[str] | bytes]) -> Path:
    """`<TABLE>.csv` files from lines of text (or raw bytes, for encodings the text cannot hold)."""
    folder.mkdir(exist_ok=True)
    for name, content in tables.items():
        path = folder / f"{name}.csv"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text("\n".join(content) + "\n", encoding="utf-8", newline="")
    return folder


# --- exports the loader refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "column", "detail"),
    [
        ("5002,Day 400,C,126400,80000", "ABUPMJ", "126400 is not a Julian CYYDDD date"),
        ("5002,Negative,C,-125001,80000", "ABUPMJ", "'-125001' is not a Julian CYYDDD date"),
        ("5002,Bad time,C,125300,250000", "ABUPMT", "'250000' is not an HHMMSS time"),
        ("12A,Letters in the key,C,125300,80000", "ABAN8", "'12A' is not a number"),
        ("5002," + "x" * 10_000 + ",C,125300,80000", "ABALPH", "10000 characters, more than the column's 40"),
    ],
    ids=["julian-day-400", "julian-negative", "time-25h", "an8-not-numeric", "field-10000-chars"],
)
def test_a_malformed_value_stops_the_load_naming_file_line_and_column(
    tmp_path: Path, bad_line: str, column: str, detail: str
) -> None:
    folder = write_export(tmp_path / "export", {"F0101": [F0101_HEADER, GOOD_F0101, bad_line]})
    with pytest.raises(CsvLoadError) as raised:
        read_export(folder)
    assert str(raised.value) == f"{folder / 'F0101.csv'}, line 3, column {column}: {detail}"


def test_bytes_that_are_not_utf8_stop_the_load_naming_file_line_and_column(tmp_path: Path) -> None:
    """Before the fix the loader let Python's UnicodeDecodeError out: no file, no line, no column."""
    content = (F0101_HEADER + "\n" + GOOD_F0101 + "\n").encode() + b'5002,"Caf\xe9 Latin-1",C,125300,80000\n'
    folder = write_export(tmp_path / "export", {"F0101": content})
    with pytest.raises(CsvLoadError) as raised:
        read_export(folder)
    assert str(raised.value) == f"{folder / 'F0101.csv'}, line 3, column ABALPH: byte 0xe9 is not UTF-8"


def test_a_duplicate_primary_key_stops_the_load_naming_both_lines(tmp_path: Path) -> None:
    folder = write_export(
        tmp_path / "export",
        {
            "F01151": [
                "EAAN8,EAIDLN,EARCK7,EAEMAL",
                "5001,0,1,a@acme.net",
                "5001,0,2,b@acme.net",
                "5001,0,1,c@x.net",
            ]
        },
    )
    with pytest.raises(CsvLoadError) as raised:
        read_export(folder)
    assert str(raised.value) == f"{folder / 'F01151.csv'}, line 4: primary key (5001, 0, 1) already on line 2"


def test_missing_columns_stop_the_load_only_when_they_are_key_columns(tmp_path: Path) -> None:
    keyless = write_export(tmp_path / "keyless", {"F01151": ["EAAN8,EARCK7,EAEMAL", "5001,1,a@acme.net"]})
    with pytest.raises(
        CsvLoadError, match=re.escape(f"{keyless / 'F01151.csv'}: header lacks key column(s) EAIDLN")
    ):
        read_export(keyless)
    short = write_export(tmp_path / "short", {"F0101": [F0101_HEADER, GOOD_F0101, "5002,Short row"]})
    with pytest.raises(CsvLoadError) as raised:
        read_export(short)
    assert str(raised.value) == f"{short / 'F0101.csv'}, line 3: 2 fields, the header has 5"


# --- hostile rows the loader accepts: the sync finishes, each bad party has its reason ------------------


def hostile_export(folder: Path) -> Path:
    """Nine parties; 5001 and 5008 are good, the others each carry one hostile trait (see the test)."""
    control = "Acme\x07\x1b Corp\x01"  # BEL, ESC, SOH: what a terminal-emulator paste leaves in JDE
    return write_export(
        folder,
        {
            "F0101": [
                F0101_HEADER,
                GOOD_F0101,
                f'5002,"{control}",C,125300,80000',
                "5003,Ctl In Email,C,125300,80000",
                '5004,"' + "東" * 40 + '",C,125300,80000',
                "5005,Negative Line,C,125300,80000",
                "5006,Long Email,C,125300,80000",
                "5007,No Search Type,,125300,80000",
                "5008,Second Good,V,125300,80000",
                "-5,Negative Address Number,C,125300,80000",
                "0,Zero Address Number,C,125300,80000",
            ],
            # F01151 without EAETP, EAEHIER, … (missing non-key columns are blank): ETP must then be blank
            # for every row, so the e-mail type comes from a column given explicitly instead.
            "F01151": [
                "EAAN8,EAIDLN,EARCK7,EAETP,EAEMAL,EAUPMJ,EAUPMT",
                "5001,0,1,E,good1@acme-industries.net,125300,80000",
                "5002,0,1,E,ctl@acme-industries.net,125300,80000",
                '5003,0,1,E,"bad\x07mail@acme-industries.net",125300,80000',
                "5004,0,1,E,tokyo@acme-industries.net,125300,80000",
                "5005,-1,1,E,negative@acme-industries.net,125300,80000",
                "5006,0,1,E," + LONGEST_EMAIL + ",125300,80000",
                "5008,0,1,E,good8@acme-industries.net,125300,80000",
                "-5,0,1,E,orphan@acme-industries.net,125300,80000",
            ],
            # F0116 with only three columns: city, state, zip and country are missing from the export
            "F0116": ["ALAN8,ALEFTB,ALADD1", "5001,120001,1 Main Street", "5002,120001,\x00\x1f Null Street"],
        },
    )


@pytest.fixture
def hostile_jde(tmp_path: Path, jde_emulator_factory: Callable[..., JdeEmulatorServer]) -> JdeEmulatorServer:
    return jde_emulator_factory(data_dir=str(hostile_export(tmp_path / "export")))


def run_sync(
    jde: JdeEmulatorServer, mc_client: MailchimpClient, store: AuditStore, settings: SyncSettings
) -> BatchReport:
    """Extract everything over HTTP and run every stage of the sync, as the Dagster job does."""
    ais = AisClient(jde.url, "JDE", "JDE", environment="JDV920")
    try:
        with ais:
            frames = extract_through(ais, TODAY).frames
    finally:
        ais.close()
    return sync_batch(frames, mc_client, store, settings, run_id="hostile", job=JOB, today=TODAY)


def outcomes_by_party(report: BatchReport) -> dict[tuple[int, str], tuple[str, str]]:
    frame = report.outcomes
    return {
        (int(an8), target): (outcome, reason or "")
        for an8, target, outcome, reason in zip(
            frame["an8"], frame["target"], frame["outcome"], frame["reason"], strict=True
        )
    }


def test_hostile_rows_are_quarantined_with_reasons_and_the_good_parties_arrive(
    hostile_jde: JdeEmulatorServer,
    mc_client: MailchimpClient,
    mc_server: Any,
    store: AuditStore,
    settings: SyncSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="jde_mc_pipeline"):
        report = run_sync(hostile_jde, mc_client, store, settings)

    assert report.reconciliation.ok, report.reconciliation  # exactly one outcome per party and target
    assert sorted(report.result.pulled.tolist()) == list(range(5001, 5009))
    got = outcomes_by_party(report)
    assert {an8 for an8, _ in got} == set(range(5001, 5009))
    for target in ("list_member", "ecommerce_customer"):
        assert got[(5001, target)][0] == "created"
        assert got[(5002, target)][0] == "created"  # control characters are text, not a reason to drop
        assert got[(5003, target)] == ("quarantined:invalid_email", "bad\x07mail@acme-industries.net")
        assert got[(5004, target)][0] == "created"  # 40 three-byte characters: the column's whole length
        assert got[(5005, target)][0] == "quarantined:invalid_row"
        assert got[(5005, target)][1].startswith("F01151.IDLN: greater_than_or_equal_to(0)")
        assert got[(5006, target)] == ("quarantined:invalid_email", LONGEST_EMAIL)
        assert got[(5007, target)] == ("skipped:out_of_scope", "no_role")
        assert got[(5008, target)][0] == "created"

    # the good ones, and the hostile but usable ones, are in Mailchimp with their JDE values
    assert member(mc_server, subscriber_hash("good1@acme-industries.net"))["status"] == "subscribed"
    assert member(mc_server, subscriber_hash("good8@acme-industries.net"))["status"] == "subscribed"
    tokyo = member(mc_server, subscriber_hash("tokyo@acme-industries.net"))
    assert tokyo["merge_fields"]["COMPANY"] == "東" * 40
    assert member(mc_server, subscriber_hash("ctl@acme-industries.net")) is not None
    for email in ("negative@acme-industries.net", "orphan@acme-industries.net"):
        assert member(mc_server, subscriber_hash(email)) is None

    # the rows naming no party (AN8 -5 and 0) cannot get an outcome: they must not vanish silently
    warned = [r.getMessage() for r in caplog.records if "no party" in r.getMessage()]
    assert len(warned) == 1, [r.getMessage() for r in caplog.records]
    assert "F0101.AN8" in warned[0] and "F01151.AN8" in warned[0]
    assert "-5" in warned[0] and "rows: 3" in warned[0]
    recorded = rows(store, "SELECT outcome, count(*) FROM sync_outcomes GROUP BY outcome ORDER BY outcome")
    assert recorded == [
        ("created", 8),
        ("quarantined:invalid_email", 4),
        ("quarantined:invalid_row", 2),
        ("skipped:out_of_scope", 2),
    ]


# --- values JDE stores that the typed frames cannot hold: the extraction stops naming the row -----------


@pytest.mark.parametrize(
    ("table", "row", "message"),
    [
        (
            "F0116",
            {"ALAN8": 1002, "ALEFTB": 400001},
            r"F0116\.EFTB: invalid yyyyMMdd dates: '23000101' \(row AN8=1002 EFTB='23000101'\)",
        ),
        ("F0101", {"ABAN8": 5006.5, "ABALPH": "Half"}, r"F0101\.AN8: .* \(row AN8=5006\.5\)"),
        ("F0101", {"ABAN8": 10**20, "ABALPH": "Huge"}, r"F0101\.AN8: .* \(row AN8=100000000000000000000\)"),
    ],
    ids=["year-2300", "an8-fraction", "an8-20-digits"],
)
def test_a_value_the_frames_cannot_hold_stops_the_sync_naming_table_column_and_row(
    sync: Callable[..., BatchReport],
    jde_emulator: JdeEmulatorServer,
    table: str,
    row: dict[str, Any],
    message: str,
) -> None:
    jde_upsert(jde_emulator.url, table, [row])
    with pytest.raises(ValueError, match=message):
        sync("stops")

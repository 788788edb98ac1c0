"""Data in the AIS emulator: CSV exports, row upserts with UPMJ/UPMT stamping, and the CLI start line."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.csv_loader import CsvLoadError
from jde_mc_pipeline.emulators.ais.formats import to_hhmmss, to_julian
from jde_mc_pipeline.emulators.ais.server import build_server
from jde_mc_pipeline_tests.jde.conftest import AisCaller

F0101_CSV = (
    "ABAN8,ABALPH,ABAT1,ABMCU,ABUPMJ,ABUPMT,ABTAXC,ABURCD\n"
    "4242,Capital Systems                         ,C,          30,125331,93000,C,XX\n"
    '100,"Müller, Hans",V,,99365,235959,P,\n'
)
F0116_CSV = "aLaN8,ALEFTB,ALADD1,ALCTR\n4242,124366,1 Main St,US\n4242,100060,Old Road,US\n"


def _rows(server, table):
    return requests.get(f"{server.url}/_emulator/rows/{table}", timeout=10).json()["rows"]


def _export(folder: Path, **files: str) -> Path:
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def test_csv_export_is_served_with_ais_formats(jde_emulator_factory, tmp_path):
    server = jde_emulator_factory(data_dir=str(_export(tmp_path, F0101=F0101_CSV, f0116=F0116_CSV)))
    caller = AisCaller(server.url)

    rows = caller.rows(
        "F0101", returnControlIDs="F0101.AN8|F0101.ALPH|F0101.MCU|F0101.UPMJ|F0101.UPMT|F0101.TAX"
    )
    assert rows == [
        {
            "F0101_AN8": 100,
            "F0101_ALPH": "Müller, Hans",
            "F0101_MCU": "",
            "F0101_UPMJ": "19991231",
            "F0101_UPMT": 235959,
            "F0101_TAX": "",
        },
        {
            "F0101_AN8": 4242,
            "F0101_ALPH": "Capital Systems",
            "F0101_MCU": "          30",
            "F0101_UPMJ": "20251127",
            "F0101_UPMT": 93000,
            "F0101_TAX": "",
        },
    ]
    addresses = caller.rows("F0116", returnControlIDs="F0116.AN8|F0116.EFTB|F0116.ADD1")
    assert [(r["F0116_EFTB"], r["F0116_ADD1"]) for r in addresses] == [
        ("20000229", "Old Road"),
        ("20241231", "1 Main St"),
    ]
    assert caller.rows("F01151") == []  # no file: empty table


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ABAN8,ABUPMJ\n1,125331\n2,125400\n", "line 3, column ABUPMJ"),
        ("ABAN8,ABUPMT\n1,250000\n", "line 2, column ABUPMT"),
        ("ABAN8,ABAN81\nx,1\n", "line 2, column ABAN8"),
        ("ABAN8,ABAT1\n1,TOOLONG\n", "line 2, column ABAT1"),
        ("ABAN8\n1\n1\n", "line 3: primary key (1,) already on line 2"),
        ("ABALPH\nx\n", "header lacks key column(s) ABAN8"),
        ("ABAN8,ABALPH\n1\n", "line 2: 1 fields"),
    ],
)
def test_malformed_csv_names_file_line_and_column(tmp_path, text, fragment):
    _export(tmp_path, F0101=text)
    with pytest.raises(CsvLoadError) as caught:
        build_server(data_dir=str(tmp_path))
    assert "F0101.csv" in str(caught.value)
    assert fragment in str(caught.value)


def test_upsert_stamps_upmj_and_upmt_with_the_clock_unless_given(jde_emulator_factory):
    clock = ManualClock(datetime(2025, 3, 1, 9, 5, 7))
    server = jde_emulator_factory(clock=clock)
    url = f"{server.url}/_emulator/tables/F01151/rows"
    row = {"EAAN8": 7, "EAIDLN": 0, "EARCK7": 1, "EAETP": "E", "EAEMAL": "a@example.com"}
    answer = requests.post(
        url, json=[row, {**row, "EARCK7": 2, "EAUPMJ": 124001, "EAUPMT": 10}], timeout=10
    ).json()
    assert answer == {"table": "F01151", "inserted": 2, "updated": 0, "upmj": 125060, "upmt": 90507}
    stored = _rows(server, "F01151")
    assert [(r["EAUPMJ"], r["EAUPMT"]) for r in stored] == [(125060, 90507), (124001, 10)]

    clock.advance(3600)
    answer = requests.post(
        url, json=[{"EAAN8": 7, "EAIDLN": 0, "EARCK7": 1, "EAEMAL": "b@example.com"}], timeout=10
    )
    assert answer.json()["updated"] == 1
    first = _rows(server, "F01151")[0]
    assert (first["EAEMAL"], first["EAETP"]) == ("b@example.com", "E")  # partial update keeps other columns
    assert (first["EAUPMJ"], first["EAUPMT"]) == (to_julian(clock().date()), to_hhmmss(clock()))


def test_upsert_refuses_bad_rows_as_a_whole(jde_emulator):
    url = f"{jde_emulator.url}/_emulator/tables/F0101/rows"
    before = _rows(jde_emulator, "F0101")
    cases = [
        ([{"ABAN8": 1}, {"ABNOPE": 1, "ABAN8": 2}], "row 2: unknown column 'ABNOPE'"),
        ([{"ABALPH": "no key"}], "missing key column(s) ABAN8"),
        ([{"ABAN8": 3, "ABUPMJ": 125400}], "column ABUPMJ"),
        ([{"ABAN8": 3, "ABALPH": 12}], "column ABALPH: expected a string"),
        ({"ABAN8": 3}, "expected a JSON list"),
    ]
    for body, fragment in cases:
        response = requests.post(url, json=body, timeout=10)
        assert response.status_code == 400
        assert fragment in response.json()["error"]
    assert _rows(jde_emulator, "F0101") == before
    assert (
        requests.post(f"{jde_emulator.url}/_emulator/tables/F4211/rows", json=[], timeout=10).status_code
        == 404
    )


def test_upserted_rows_are_visible_to_queries_by_upmj(jde_emulator, jde_caller):
    """A child-table-only change shows up in that table's UPMJ window and nowhere else."""
    jde_emulator.clock.advance(1200)  # 12:20 on DATASET_NOW's day, within the token TTL
    change = [{"WPAN8": 1003, "WPIDLN": 0, "WPRCK7": 1, "WPPH1": "555-9999"}]
    requests.post(
        f"{jde_emulator.url}/_emulator/tables/F0115/rows", json=change, timeout=10
    ).raise_for_status()
    today = [{"controlId": "", "operator": "EQUAL", "value": [{"content": "0", "specialValueId": "TODAY"}]}]
    for table_name, expected in (("F0115", [1003]), ("F0101", [])):
        today[0]["controlId"] = f"{table_name}.UPMJ"
        rows = jde_caller.rows(table_name, query={"condition": today})
        assert [row[f"{table_name}_AN8"] for row in rows] == expected
        if expected:
            assert rows[0]["F0115_UPMT"] == 122000


def test_cli_prints_one_ready_line_and_serves(tmp_path):
    _export(tmp_path, F0101=F0101_CSV)
    command = [
        sys.executable,
        "-m",
        "jde_mc_pipeline.cli",
        "emulate",
        "jde",
        "--port",
        "0",
        "--data",
        str(tmp_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("JDE AIS emulator ready at http://127.0.0.1:")
        assert line.endswith("(user JDE, password JDE, environment JDV920)")
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert AisCaller(url).rows("F0101", returnControlIDs="F0101.AN8") == [
            {"F0101_AN8": 100},
            {"F0101_AN8": 4242},
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_reports_a_bad_export_and_exits_non_zero(tmp_path):
    _export(tmp_path, F0101="ABAN8,ABUPMJ\n1,999999x\n")
    command = [sys.executable, "-m", "jde_mc_pipeline.cli", "emulate", "jde", "--data", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "line 2, column ABUPMJ" in result.stderr


def test_concurrent_reads_and_upserts_stay_consistent(jde_emulator, jde_dataset):
    """Readers on their own connections see whole rows while a writer keeps upserting."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"{jde_emulator.url}/_emulator/tables/F0101/rows"

    def write(round_number):
        rows = [
            {"ABAN8": 1001 + n, "ABALPH": f"Round {round_number}", "ABTAX": f"R{round_number}"}
            for n in range(30)
        ]
        return requests.post(url, json=rows, timeout=10).status_code

    def read(_):
        caller = AisCaller(jde_emulator.url)
        rows = caller.rows("F0101", returnControlIDs="F0101.AN8|F0101.ALPH|F0101.TAX", maxPageSize="No Max")
        assert len(rows) == len(jde_dataset["F0101"])
        for row in rows:  # name and tax id were written together, so they must agree
            if row["F0101_ALPH"].startswith("Round "):
                assert row["F0101_TAX"] == "R" + row["F0101_ALPH"].split()[1]
        return len(rows)

    with ThreadPoolExecutor(max_workers=6) as pool:
        writes = pool.map(write, range(20))
        reads = pool.map(read, range(20))
        assert set(writes) == {200}
        assert set(reads) == {len(jde_dataset["F0101"])}


def test_demo_data_holds_no_stamp_later_than_the_clock(jde_emulator_factory):
    """At 03:00 the generator's "changed today" rows must not be stamped later in the day."""
    clock = ManualClock(datetime(2026, 11, 27, 3, 0, 0))
    server = jde_emulator_factory(demo=400, seed=3, clock=clock)
    now = (to_julian(clock().date()), to_hhmmss(clock()))
    stamps_today = 0
    for table in ("F0101", "F03012", "F0116", "F01151", "F0115", "F0111"):
        for row in _rows(server, table):
            prefix = next(k for k in row if k.endswith("UPMJ"))[:-4]
            stamp = (row[f"{prefix}UPMJ"], row[f"{prefix}UPMT"])
            assert stamp <= now, f"{table} row stamped {stamp}, after the clock's {now}"
            stamps_today += stamp[0] == now[0]
    assert stamps_today > 0, "demo data should still hold changes made today"

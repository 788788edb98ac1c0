"""Deleting rows by primary key through `DELETE /_emulator/tables/{TABLE}/rows`.

A row deleted in JDE leaves no trace, so the emulator must forget it everywhere a read could still find
it (scans, the AN8 index behind LIST reads, the cached key order) without touching the rows that stay,
while result sets opened before the delete keep serving their snapshot, as a JAS result set does.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.query import Condition
from jde_mc_pipeline.jde.session import RetryPolicy
from jde_mc_pipeline_tests.jde.conftest import AisCaller


def _delete(url: str, table: str, body: Any) -> requests.Response:
    return requests.delete(f"{url}/_emulator/tables/{table}/rows", json=body, timeout=10)


def _deleted(url: str, table: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
    response = _delete(url, table, keys)
    assert response.status_code == 200, response.text
    return response.json()


def _rows(url: str, table: str) -> list[dict[str, Any]]:
    return requests.get(f"{url}/_emulator/rows/{table}", timeout=10).json()["rows"]


def _client(url: str) -> AisClient:
    retry = RetryPolicy(max_attempts=3, initial_wait=0.001, max_wait=0.01)
    return AisClient(url, "JDE", "JDE", environment="JDV920", retry=retry, read_timeout=10.0)


def test_deleted_row_is_gone_from_browse_and_list_reads(jde_emulator):
    url = jde_emulator.url
    with _client(url) as client:
        assert 1007 in list(client.browse_an8s("F0101", [1006, 1007, 1008], columns=["ALPH"])["AN8"])
        before = client.browse("F0101", columns=["ALPH"])  # caches the key order of a full scan

        assert _deleted(url, "F0101", [{"ABAN8": 1007}]) == {"table": "F0101", "deleted": 1, "not_found": 0}

        listed = client.browse_an8s("F0101", [1006, 1007, 1008], columns=["ALPH"])
        assert list(listed["AN8"]) == [1006, 1008]
        assert client.browse_an8s("F0101", [1007]).empty
        browsed = client.browse("F0101", columns=["ALPH"])
        assert list(browsed["AN8"]) == [an8 for an8 in before["AN8"] if an8 != 1007]
        assert client.browse("F0101", [Condition("AN8", "EQUAL", (1007,))]).empty
    assert 1007 not in [row["ABAN8"] for row in _rows(url, "F0101")]
    stats = requests.get(f"{url}/_emulator/stats", timeout=10).json()
    assert stats["rows"]["F0101"] == 29


def test_composite_key_deletes_only_the_matching_row(jde_emulator):
    """1002 has two e-mails (RCK7 1 and 2); deleting one keeps the other and the party's other tables."""
    url = jde_emulator.url
    answer = _deleted(url, "F01151", [{"EAAN8": 1002, "EAIDLN": 0, "EARCK7": 2}])
    assert answer == {"table": "F01151", "deleted": 1, "not_found": 0}
    with _client(url) as client:
        emails = client.browse_an8s("F01151", [1002], columns=["EMAL"])
        assert list(zip(emails["RCK7"], emails["EMAL"], strict=True)) == [(1, "party2@example.com")]
        assert list(client.browse_an8s("F0101", [1002])["AN8"]) == [1002]

    # the last row of an AN8 gone: the LIST read finds nothing for it, a neighbour is untouched
    _deleted(url, "F01151", [{"EAAN8": 1002, "EAIDLN": 0, "EARCK7": 1}])
    with _client(url) as client:
        assert list(client.browse_an8s("F01151", [1001, 1002, 1003])["AN8"]) == [1001, 1003]


def test_delete_stamps_nothing_on_the_rows_that_stay(jde_emulator, jde_dataset):
    url = jde_emulator.url
    jde_emulator.clock.advance(600)  # a stamp written now would differ from the dataset's
    tables = ("F0101", "F03012", "F0116", "F01151", "F0115", "F0111")
    before = {table: _rows(url, table) for table in tables}

    _deleted(url, "F01151", [{"EAAN8": 1002, "EAIDLN": 0, "EARCK7": 2}])

    after = {table: _rows(url, table) for table in tables}
    kept = [row for row in before["F01151"] if (row["EAAN8"], row["EARCK7"]) != (1002, 2)]
    assert after["F01151"] == kept
    loaded = next(row for row in jde_dataset["F01151"] if (row["EAAN8"], row["EARCK7"]) == (1002, 1))
    same_an8 = next(row for row in after["F01151"] if row["EAAN8"] == 1002)
    assert (same_an8["EAUPMJ"], same_an8["EAUPMT"]) == (loaded["EAUPMJ"], loaded["EAUPMT"])
    for table in tables:
        if table != "F01151":
            assert after[table] == before[table]


def test_keys_matching_no_row_are_counted_not_refused(jde_emulator):
    url = jde_emulator.url
    keys = [{"ABAN8": 1001}, {"ABAN8": 999999}, {"ABAN8": 1001}, {"ABAN8": "1002"}]  # 1001 twice
    assert _deleted(url, "F0101", keys) == {"table": "F0101", "deleted": 2, "not_found": 2}
    assert _deleted(url, "F0101", []) == {"table": "F0101", "deleted": 0, "not_found": 0}
    assert _deleted(url, "f0116", [{"alan8": 1001, "ALEFTB": 126001}]) == {
        "table": "F0116",  # the future address (2026-01-01); names are matched like the upsert's
        "deleted": 1,
        "not_found": 0,
    }
    assert [row["ALEFTB"] for row in _rows(url, "F0116") if row["ALAN8"] == 1001] == [120001]


def test_a_reinserted_key_starts_blank(jde_emulator):
    """No trace: upserting a deleted key again is an insert that does not bring old columns back."""
    url = jde_emulator.url
    _deleted(url, "F0101", [{"ABAN8": 1010}])
    answer = requests.post(f"{url}/_emulator/tables/F0101/rows", json=[{"ABAN8": 1010}], timeout=10)
    assert answer.json()["inserted"] == 1
    row = next(row for row in _rows(url, "F0101") if row["ABAN8"] == 1010)
    assert (row["ABALPH"], row["ABTAX"], row["ABAT1"]) == ("", "", "")


@pytest.mark.parametrize(
    ("table", "body", "fragment"),
    [
        ("F01151", [{"EAAN8": 1002, "EAIDLN": 0}], "F01151 row 1: missing key column(s) EARCK7"),
        ("F0101", [{"ABAN8": 1001}, {"ABAN8": 1002, "ABNOPE": 1}], "F0101 row 2: unknown column 'ABNOPE'"),
        ("F0101", [{"ABAN8": 1001}, {"ABAN8": 1002, "ABALPH": "x"}], "row 2: column ABALPH is not a key"),
        ("F0101", [{"ABAN8": 1001}, {"ABAN8": "abc"}], "F0101 row 2, column ABAN8"),
        ("F0116", [{"ALAN8": 1001, "ALEFTB": 125400}], "F0116 row 1, column ALEFTB"),
        ("F0101", [{"ABAN8": 1001}, 1002], "F0101 row 2: expected an object of key columns"),
        ("F0101", {"ABAN8": 1001}, "expected a JSON list of primary keys"),
    ],
)
def test_bad_keys_are_refused_as_a_whole(jde_emulator, table, body, fragment):
    url = jde_emulator.url
    before = {name: _rows(url, name) for name in ("F0101", "F0116", "F01151")}
    response = _delete(url, table, body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert {name: _rows(url, name) for name in before} == before  # nothing deleted, not even row 1


def test_malformed_body_and_unknown_table(jde_emulator):
    url = jde_emulator.url
    response = requests.delete(f"{url}/_emulator/tables/F0101/rows", data=b"[{", timeout=10)
    assert response.status_code == 400 and "malformed JSON body" in response.json()["error"]
    assert requests.delete(f"{url}/_emulator/tables/F0101/rows", timeout=10).status_code == 400
    response = _delete(url, "F4211", [{"SDDOCO": 1}])
    assert response.status_code == 404
    assert "unknown table 'F4211'" in response.json()["error"]


def test_open_result_set_keeps_its_snapshot(jde_emulator):
    url = jde_emulator.url
    caller = AisCaller(url)
    first = caller.data(
        targetName="F0101",
        returnControlIDs="F0101.AN8|F0101.ALPH",
        maxPageSize="10",
        enableNextPageProcessing=True,
    )
    assert first.status_code == 200, first.text
    _deleted(url, "F0101", [{"ABAN8": 1015}, {"ABAN8": 1025}])  # on pages 2 and 3

    seen = [row["F0101_AN8"] for row in first.json()["fs_DATABROWSE_F0101"]["data"]["gridData"]["rowset"]]
    response = first
    while links := response.json().get("links"):
        response = requests.post(links[0]["href"], timeout=10)
        assert response.status_code == 200, response.text
        seen += [
            row["F0101_AN8"] for row in response.json()["fs_DATABROWSE_F0101"]["data"]["gridData"]["rowset"]
        ]
    assert seen == list(range(1001, 1031))  # the pages come from the query-time snapshot

    fresh = [row["F0101_AN8"] for row in caller.rows("F0101", returnControlIDs="F0101.AN8")]
    assert fresh == [an8 for an8 in range(1001, 1031) if an8 not in (1015, 1025)]


def test_concurrent_deletes_count_each_row_once(jde_emulator):
    """Several callers deleting the same keys while others read: each row is deleted exactly once."""
    url = jde_emulator.url
    extra = [{"WWAN8": 3000 + n, "WWIDLN": 0, "WWMLNM": f"Bulk {n}"} for n in range(200)]
    requests.post(f"{url}/_emulator/tables/F0111/rows", json=extra, timeout=10).raise_for_status()
    keys = [{"WWAN8": row["WWAN8"], "WWIDLN": 0} for row in extra]

    def delete(_: int) -> dict[str, Any]:
        return _deleted(url, "F0111", keys)

    def read(_: int) -> int:
        rows = AisCaller(url).rows("F0111", returnControlIDs="F0111.AN8", maxPageSize="No Max")
        assert [row["F0111_AN8"] for row in rows] == sorted(row["F0111_AN8"] for row in rows)
        return len(rows)

    with ThreadPoolExecutor(max_workers=8) as pool:
        deleting = pool.map(delete, range(6))  # both submitted before either is awaited
        reading = pool.map(read, range(6))
        deletes, reads = list(deleting), list(reading)
    assert sum(answer["deleted"] for answer in deletes) == 200
    assert sum(answer["not_found"] for answer in deletes) == 5 * 200
    assert all(30 <= count <= 230 for count in reads)
    assert [row["WWAN8"] for row in _rows(url, "F0111")] == list(range(1001, 1031))

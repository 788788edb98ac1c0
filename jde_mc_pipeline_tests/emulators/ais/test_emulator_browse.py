"""BROWSE and COUNT of the AIS emulator over real HTTP: envelope, value formats, conditions, ordering."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests

from jde_mc_pipeline.emulators.ais.formats import from_julian, to_julian
from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW


def _literal(*contents, special="LITERAL"):
    return [{"content": content, "specialValueId": special} for content in contents]


def _condition(control_id, operator, *contents, special="LITERAL"):
    condition = {"controlId": control_id, "operator": operator}
    if contents:
        condition["value"] = _literal(*contents, special=special)
    return condition


def _an8s(rows, table="F0101"):
    return [row[f"{table}_AN8"] for row in rows]


def _mdy(julian):
    return from_julian(julian).strftime("%m/%d/%Y")


def test_browse_envelope_matches_the_documented_grid_data(jde_caller, jde_dataset):
    response = jde_caller.data(
        targetName="F0101", returnControlIDs="F0101.AN8|F0101.ALPH|F0101.AT1", maxPageSize="5"
    )

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["fs_DATABROWSE_F0101"]
    form = body["fs_DATABROWSE_F0101"]
    assert form["title"] == "Data Browser - F0101 [Address Book Master]"
    grid = form["data"]["gridData"]
    assert grid["columns"] == {
        "F0101_AN8": "Address Number",
        "F0101_ALPH": "Alpha Name",
        "F0101_AT1": "Sch Typ",
    }
    assert str(grid["id"]) == grid["fullGridId"]
    assert grid["summary"] == {"records": 5, "moreRecords": True}
    assert [set(row) for row in grid["rowset"]] == [{"F0101_AN8", "F0101_ALPH", "F0101_AT1"}] * 5
    assert _an8s(grid["rowset"]) == sorted(row["ABAN8"] for row in jde_dataset["F0101"])[:5]


def test_values_are_trimmed_typed_and_dates_are_yyyymmdd(jde_caller, jde_dataset):
    rows = jde_caller.rows("F0101", maxPageSize="No Max")
    by_an8 = {row["F0101_AN8"]: row for row in rows}
    for source in jde_dataset["F0101"]:
        row = by_an8[source["ABAN8"]]
        assert row["F0101_ALPH"] == source["ABALPH"].rstrip()  # trailing padding trimmed
        assert row["F0101_MCU"] == source["ABMCU"] and row["F0101_MCU"].startswith(" ")  # leading kept
        assert row["F0101_UPMJ"] == from_julian(source["ABUPMJ"]).strftime("%Y%m%d")
        assert row["F0101_UPMT"] == source["ABUPMT"] and isinstance(row["F0101_UPMT"], int)
        assert isinstance(row["F0101_AN8"], int)
        expected_eftb = from_julian(source["ABEFTB"]).strftime("%Y%m%d") if source["ABEFTB"] else None
        assert row["F0101_EFTB"] == expected_eftb  # blank date (Julian 0) is null
    assert by_an8[1004]["F0101_ALPH"] == "東京商事"
    assert len(by_an8[1005]["F0101_ALPH"]) == 40


def test_response_is_utf8_json(jde_caller):
    response = jde_caller.data(targetName="F0101", returnControlIDs="F0101.ALPH", maxPageSize="No Max")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Müller GmbH".encode() in response.content


def test_omitted_return_control_ids_return_every_catalogue_column(jde_caller):
    from jde_mc_pipeline.jde.tables import F0116

    rows = jde_caller.rows("F0116", maxPageSize="1")
    assert set(rows[0]) == {F0116.output_key(alias) for alias in F0116.aliases}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"targetName": "F0101", "returnControlIDs": "F0101.AN8|F0101.NOPE"}, "NOPE"),
        ({"targetName": "F0101", "returnControlIDs": "F0116.ADD1"}, "F0116.ADD1"),
        ({"targetName": "V0101", "targetType": "view"}, "view"),
        ({"targetName": "F4211"}, "F4211"),
        ({"targetName": "F0101", "dataServiceType": "AGGREGATION"}, "AGGREGATION"),
        ({"targetName": "F0101", "outputType": "VERSION1"}, "VERSION1"),
        ({"targetName": "F0101", "maxPageSize": "lots"}, "maxPageSize"),
        ({"targetName": "F0101", "maxPageSize": 0}, "maxPageSize"),
        ({"targetName": "F0101", "query": {"condition": [_condition("F0101.AN8", "LIKE", "1")]}}, "LIKE"),
        ({"targetName": "F0101", "query": {"condition": [_condition("F0101.XX", "EQUAL", "1")]}}, "XX"),
        ({"targetName": "F0101", "query": {"condition": [_condition("F0101.AN8", "EQUAL", "abc")]}}, "abc"),
        (
            {"targetName": "F0101", "query": {"condition": [_condition("F0101.AN8", "EQUAL", "1", "2")]}},
            "exactly",
        ),
        (
            {"targetName": "F0101", "query": {"condition": [_condition("F0101.AN8", "BETWEEN", "1")]}},
            "exactly 2",
        ),
        ({"targetName": "F0101", "query": {"matchType": "SOME"}}, "matchType"),
        ({"targetName": "F0101", "orderBy": [{"column": "F0101.AN8", "direction": "UP"}]}, "direction"),
    ],
)
def test_requests_the_service_cannot_run_get_a_clear_400(jde_caller, fields, fragment):
    response = jde_caller.data(**fields)
    assert response.status_code == 400
    body = response.json()
    assert fragment in body["message"]
    assert body["status"] == "ERROR"


def _matching(jde_dataset, predicate, table="F0101", prefix="AB"):
    return sorted(row[f"{prefix}AN8"] for row in jde_dataset[table] if predicate(row))


@pytest.mark.parametrize(
    ("condition", "predicate"),
    [
        (_condition("F0101.AN8", "EQUAL", "1007"), lambda r: r["ABAN8"] == 1007),
        (_condition("F0101.AN8", "EQUAL", 1007), lambda r: r["ABAN8"] == 1007),  # numeric content
        (_condition("F0101.AT1", "NOT_EQUAL", "C"), lambda r: r["ABAT1"] != "C"),
        (_condition("F0101.AN8", "GREATER", "1025"), lambda r: r["ABAN8"] > 1025),
        (_condition("F0101.AN8", "GREATER_EQUAL", "1025"), lambda r: r["ABAN8"] >= 1025),
        (_condition("F0101.AN8", "LESS", "1003"), lambda r: r["ABAN8"] < 1003),
        (_condition("F0101.AN8", "LESS_EQUAL", "1003"), lambda r: r["ABAN8"] <= 1003),
        (_condition("F0101.AN8", "BETWEEN", "1010", "1012"), lambda r: 1010 <= r["ABAN8"] <= 1012),
        (_condition("F0101.AN8", "LIST", "1002", "1029", "9999"), lambda r: r["ABAN8"] in (1002, 1029)),
        (_condition("F0101.AT1", "LIST", "V", "E"), lambda r: r["ABAT1"] in ("V", "E")),
        (_condition("F0101.EFTB", "STR_BLANK"), lambda r: r["ABEFTB"] == 0),
        (_condition("F0101.EFTB", "STR_NOT_BLANK"), lambda r: r["ABEFTB"] != 0),
        (_condition("F0101.ALPH", "STR_START_WITH", "Party 1"), lambda r: r["ABALPH"].startswith("Party 1")),
        (_condition("F0101.ALPH", "STR_CONTAIN", "GmbH"), lambda r: "GmbH" in r["ABALPH"]),
        (_condition("F0101.ALPH", "STR_END_WITH", "0"), lambda r: r["ABALPH"].rstrip().endswith("0")),
        (_condition("F0101.ALPH", "EQUAL", "Party 01"), lambda r: r["ABAN8"] == 1001),  # CHAR padding ignored
        (_condition("F0101.MCU", "EQUAL", "1000"), lambda r: False),  # leading blanks count
        (_condition("F0101.UPMT", "GREATER", "100000"), lambda r: r["ABUPMT"] > 100000),
    ],
)
def test_each_operator(jde_caller, jde_dataset, condition, predicate):
    rows = jde_caller.rows("F0101", maxPageSize="No Max", query={"condition": [condition]})
    assert _an8s(rows) == _matching(jde_dataset, predicate)


def test_date_literals_use_the_user_date_format(jde_caller, jde_dataset):
    cutoff = to_julian(date(2025, 6, 10))
    condition = _condition("F0101.UPMJ", "GREATER_EQUAL", _mdy(cutoff))
    rows = jde_caller.rows("F0101", maxPageSize="No Max", query={"condition": [condition]})
    assert _an8s(rows) == _matching(jde_dataset, lambda r: r["ABUPMJ"] >= cutoff)
    assert rows


@pytest.mark.parametrize("literal", ["2025-06-10", "20250610", "125161", "10/06/2025x", 125161])
def test_date_literals_in_another_format_are_refused(jde_caller, literal):
    condition = _condition("F0101.UPMJ", "GREATER_EQUAL", literal)
    response = jde_caller.data(targetName="F0101", query={"condition": [condition]})
    assert response.status_code == 400
    assert "MM/dd/yyyy" in response.json()["message"]


def test_dd_mm_yyyy_users_send_day_first(jde_emulator_factory, jde_dataset):
    from jde_mc_pipeline_tests.jde.conftest import AisCaller

    server = jde_emulator_factory(simple_date_format="dd/MM/yyyy")
    requests.post(f"{server.url}/_emulator/tables/F0101/rows", json=jde_dataset["F0101"], timeout=10)
    caller = AisCaller(server.url)
    condition = _condition("F0101.UPMJ", "EQUAL", "20/11/2025")
    assert _an8s(caller.rows("F0101", query={"condition": [condition]})) == [1029, 1030]


@pytest.mark.parametrize(
    ("special", "content", "day"),
    [
        ("TODAY", "", DATASET_NOW.date()),
        ("TODAY_MINUS_DAY", "7", DATASET_NOW.date() - timedelta(days=7)),
        ("TODAY_PLUS_DAY", "3", DATASET_NOW.date() + timedelta(days=3)),
        ("TODAY_MINUS_MONTH", "2", date(2025, 9, 27)),
        ("TODAY_MINUS_YEAR", "1", date(2024, 11, 27)),
    ],
)
def test_today_special_values(jde_caller, jde_dataset, special, content, day):
    condition = _condition("F0101.UPMJ", "GREATER_EQUAL", content, special=special)
    rows = jde_caller.rows("F0101", maxPageSize="No Max", query={"condition": [condition]})
    assert _an8s(rows) == _matching(jde_dataset, lambda r: r["ABUPMJ"] >= to_julian(day))


def test_match_any(jde_caller, jde_dataset):
    query = {
        "matchType": "MATCH_ANY",
        "condition": [_condition("F0101.AN8", "EQUAL", "1001"), _condition("F0101.AT1", "EQUAL", "O")],
    }
    rows = jde_caller.rows("F0101", maxPageSize="No Max", query=query)
    assert _an8s(rows) == _matching(jde_dataset, lambda r: r["ABAN8"] == 1001 or r["ABAT1"] == "O")


def test_complex_query_finds_changes_after_a_watermark_split_by_upmt(jde_caller, jde_dataset):
    """(UPMJ > d) OR (UPMJ = d AND UPMT >= t): the same-day pair 1029/1030 is split by UPMT."""
    day, moment = to_julian(date(2025, 11, 20)), 120000
    query = {
        "complexQuery": [
            {"andOr": "AND", "query": {"condition": [_condition("F0101.UPMJ", "GREATER", _mdy(day))]}},
            {
                "andOr": "OR",
                "query": {
                    "matchType": "MATCH_ALL",
                    "condition": [
                        _condition("F0101.UPMJ", "EQUAL", _mdy(day)),
                        _condition("F0101.UPMT", "GREATER_EQUAL", str(moment)),
                    ],
                },
            },
        ]
    }
    expected = _matching(
        jde_dataset, lambda r: r["ABUPMJ"] > day or (r["ABUPMJ"] == day and r["ABUPMT"] >= moment)
    )
    assert _an8s(jde_caller.rows("F0101", maxPageSize="No Max", query=query)) == expected == [1030]


def test_complex_query_is_anded_with_sibling_conditions(jde_caller, jde_dataset):
    query = {
        "condition": [_condition("F0101.AT1", "EQUAL", "C")],
        "complexQuery": [
            {"andOr": "AND", "query": {"condition": [_condition("F0101.AN8", "LESS", "1003")]}},
            {"andOr": "OR", "query": {"condition": [_condition("F0101.AN8", "GREATER", "1019")]}},
        ],
    }
    expected = _matching(
        jde_dataset, lambda r: r["ABAT1"] == "C" and (r["ABAN8"] < 1003 or r["ABAN8"] > 1019)
    )
    assert _an8s(jde_caller.rows("F0101", maxPageSize="No Max", query=query)) == expected


def test_list_on_an8_reads_child_tables_in_key_order(jde_caller, jde_dataset):
    wanted = ["1002", "1001", "1003"]
    condition = _condition("F01151.AN8", "LIST", *wanted)
    rows = jde_caller.rows("F01151", query={"condition": [condition, _condition("F01151.ETP", "EQUAL", "E")]})
    expected = sorted(
        (r["EAAN8"], r["EAIDLN"], r["EARCK7"]) for r in jde_dataset["F01151"] if str(r["EAAN8"]) in wanted
    )
    assert [(r["F01151_AN8"], r["F01151_IDLN"], r["F01151_RCK7"]) for r in rows] == expected


def test_order_by_in_aggregation_and_at_top_level(jde_caller, jde_dataset):
    expected = [r["ABAN8"] for r in sorted(jde_dataset["F0101"], key=lambda r: (-r["ABUPMJ"], r["ABAN8"]))]
    for fields in (
        {"aggregation": {"orderBy": [{"column": "F0101.UPMJ", "direction": "DESC"}]}},
        {"orderBy": [{"column": "F0101.UPMJ", "direction": "DESC"}]},
    ):
        assert _an8s(jde_caller.rows("F0101", maxPageSize="No Max", **fields)) == expected


def test_default_page_size_is_100_and_no_max_is_unlimited(jde_emulator, jde_caller):
    extra = [{"ABAN8": 5000 + n, "ABALPH": f"Bulk {n}", "ABAT1": "C"} for n in range(120)]
    requests.post(
        f"{jde_emulator.url}/_emulator/tables/F0101/rows", json=extra, timeout=10
    ).raise_for_status()
    grid = jde_caller.data(targetName="F0101").json()["fs_DATABROWSE_F0101"]["data"]["gridData"]
    assert grid["summary"] == {"records": 100, "moreRecords": True}
    assert len(grid["rowset"]) == 100
    grid = jde_caller.data(targetName="F0101", maxPageSize=200).json()["fs_DATABROWSE_F0101"]["data"][
        "gridData"
    ]
    assert grid["summary"] == {"records": 150, "moreRecords": False}
    rows = jde_caller.rows("F0101", maxPageSize="No Max")
    assert len(rows) == 150


def test_count_answers_the_number_of_matching_rows(jde_caller, jde_dataset):
    condition = _condition("F0101.AT1", "EQUAL", "C")
    response = jde_caller.data(targetName="F0101", dataServiceType="COUNT", query={"condition": [condition]})
    grid = response.json()["fs_DATABROWSE_F0101"]["data"]["gridData"]
    assert grid["summary"] == {
        "records": len(_matching(jde_dataset, lambda r: r["ABAT1"] == "C")),
        "moreRecords": False,
    }
    assert grid["rowset"] == []


def test_complex_query_combines_left_to_right_without_precedence(jde_caller, jde_dataset):
    """[q1, OR q2, AND q3] is (q1 OR q2) AND q3, not q1 OR (q2 AND q3)."""
    query = {
        "complexQuery": [
            {"andOr": "AND", "query": {"condition": [_condition("F0101.AN8", "EQUAL", "1001")]}},
            {"andOr": "OR", "query": {"condition": [_condition("F0101.AT1", "EQUAL", "V")]}},
            {"andOr": "AND", "query": {"condition": [_condition("F0101.AN8", "GREATER_EQUAL", "1022")]}},
        ]
    }
    expected = _matching(
        jde_dataset, lambda r: (r["ABAN8"] == 1001 or r["ABAT1"] == "V") and r["ABAN8"] >= 1022
    )
    assert (
        _an8s(jde_caller.rows("F0101", maxPageSize="No Max", query=query))
        == expected
        == [1022, 1023, 1024, 1025]
    )

"""Next-page processing of the AIS emulator: links, snapshots, expiry (JAS_MSG347), token binding."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

JAS_MSG347 = "JAS_MSG347: The query results expired.  Refresh them by clicking Find again."


@pytest.fixture
def bulk_parties(jde_emulator, jde_dataset):
    """Adds 95 more F0101 rows (125 in all) so that pages of 50 make three pages."""
    extra = [{"ABAN8": 2000 + n, "ABALPH": f"Bulk {n}", "ABAT1": "C"} for n in range(95)]
    requests.post(
        f"{jde_emulator.url}/_emulator/tables/F0101/rows", json=extra, timeout=10
    ).raise_for_status()
    return sorted([row["ABAN8"] for row in jde_dataset["F0101"]] + [row["ABAN8"] for row in extra])


def _grid(response, table="F0101"):
    assert response.status_code == 200, response.text
    return response.json()[f"fs_DATABROWSE_{table}"]["data"]["gridData"]


def _first_page(caller, **fields):
    fields = {"targetName": "F0101", "maxPageSize": "50", "enableNextPageProcessing": True, **fields}
    return caller.data(returnControlIDs="F0101.AN8|F0101.ALPH", **fields)


def test_following_next_links_reads_every_row_once(jde_caller, bulk_parties):
    response = _first_page(jde_caller)
    seen, records = [], []
    while True:
        grid = _grid(response)
        seen += [row["F0101_AN8"] for row in grid["rowset"]]
        records.append((grid["summary"]["records"], grid["summary"]["moreRecords"]))
        links = response.json().get("links")
        if not grid["summary"]["moreRecords"]:
            assert links is None
            break
        (link,) = links
        assert link["rel"] == "next"
        response = requests.post(link["href"], timeout=10)  # empty body, as AIS clients do
    assert seen == bulk_parties
    assert records == [(50, True), (50, True), (25, False)]
    stats = requests.get(f"{jde_caller.url}/_emulator/stats", timeout=10).json()
    assert stats["next_pages_served"] == 2
    assert stats["requests"]["POST /jderest/v2/dataservice/next"] == {"200": 2}


def test_next_link_carries_the_documented_parameters_and_an_encoded_token(jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}" == jde_caller.url
    assert parts.path == "/jderest/v2/dataservice/next"
    params = parse_qs(parts.query)
    for name in (
        "stackId",
        "stateId",
        "rid",
        "fullGridId",
        "formOID",
        "token",
        "outputType",
        "returnControlIDs",
    ):
        assert name in params
    assert params["token"] == [jde_caller.token]
    assert "+" not in parts.query and "%2B" in parts.query
    assert params["formOID"] == ["F0101"] and params["returnControlIDs"] == ["F0101.AN8|F0101.ALPH"]


def test_no_links_without_next_page_processing(jde_caller, bulk_parties):
    response = jde_caller.data(targetName="F0101", maxPageSize="50")
    assert _grid(response)["summary"] == {"records": 50, "moreRecords": True}
    assert "links" not in response.json()


def test_pages_come_from_a_snapshot_taken_at_query_time(jde_emulator, jde_caller, bulk_parties):
    response = _first_page(jde_caller)
    late = [{"ABAN8": 1500, "ABALPH": "Inserted while paging"}, {"ABAN8": 2090, "ABALPH": "Renamed"}]
    requests.post(f"{jde_emulator.url}/_emulator/tables/F0101/rows", json=late, timeout=10).raise_for_status()
    rows = _grid(requests.post(response.json()["links"][0]["href"], timeout=10))["rowset"]
    assert 1500 not in [row["F0101_AN8"] for row in rows]
    assert "Renamed" not in [row["F0101_ALPH"] for row in rows]


def test_idle_result_set_expires_with_jas_msg347(jde_emulator, jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    jde_emulator.clock.advance(61)  # the result-set TTL is 60 s; the token's is 1800 s
    response = requests.post(href, timeout=10)
    assert response.status_code == 500
    assert response.json() == {"sysErrors": [{"TITLE": JAS_MSG347, "DESC": JAS_MSG347}]}


def test_fetching_a_page_keeps_the_result_set_alive(jde_emulator, jde_caller, bulk_parties):
    response = _first_page(jde_caller)
    jde_emulator.clock.advance(50)
    response = requests.post(response.json()["links"][0]["href"], timeout=10)
    jde_emulator.clock.advance(50)
    assert (
        _grid(requests.post(response.json()["links"][0]["href"], timeout=10))["summary"]["moreRecords"]
        is False
    )


def test_result_set_ttl_is_configurable(jde_emulator_factory):
    from jde_mc_pipeline.emulators.ais.clock import ManualClock
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW, AisCaller

    clock = ManualClock(DATASET_NOW)
    server = jde_emulator_factory(result_set_ttl=5, clock=clock)
    rows = [{"ABAN8": n} for n in range(1, 11)]
    requests.post(f"{server.url}/_emulator/tables/F0101/rows", json=rows, timeout=10).raise_for_status()
    caller = AisCaller(server.url)
    href = _first_page(caller, maxPageSize="3").json()["links"][0]["href"]
    clock.advance(6)
    assert requests.post(href, timeout=10).status_code == 500


def test_control_endpoint_expires_result_sets(jde_emulator, jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    assert requests.post(f"{jde_emulator.url}/_emulator/resultsets/expire", timeout=10).json() == {
        "expired": 1
    }
    assert requests.post(href, timeout=10).status_code == 500


def test_a_finished_result_set_cannot_be_replayed(jde_caller, bulk_parties):
    first = _first_page(jde_caller, maxPageSize="100")
    href = first.json()["links"][0]["href"]
    assert _grid(requests.post(href, timeout=10))["summary"]["moreRecords"] is False
    assert requests.post(href, timeout=10).status_code == 500


def test_next_after_logout_or_token_expiry_gets_444(jde_emulator, jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    logout = {"token": jde_caller.token, "deviceName": jde_caller.device}
    requests.post(
        f"{jde_emulator.url}/jderest/v2/tokenrequest/logout", json=logout, timeout=10
    ).raise_for_status()
    response = requests.post(href, timeout=10)
    assert response.status_code == 444
    assert response.json()["message"] == "Invalid Token"

    jde_caller.token = jde_caller.login()
    href = _first_page(jde_caller).json()["links"][0]["href"]
    requests.post(f"{jde_emulator.url}/_emulator/tokens/expire", timeout=10).raise_for_status()
    assert requests.post(href, timeout=10).status_code == 444


def test_next_with_another_device_gets_444(jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    assert requests.post(href, headers={"jde-AIS-Auth-Device": "elsewhere"}, timeout=10).status_code == 444
    assert requests.post(f"{href}&deviceName={jde_caller.device}", timeout=10).status_code == 200


def test_next_of_another_session_is_refused(jde_emulator, jde_caller, bulk_parties):
    href = _first_page(jde_caller).json()["links"][0]["href"]
    other = jde_caller.login()
    parts = urlsplit(href)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    params["token"] = other
    response = requests.post(f"{jde_emulator.url}{parts.path}", params=params, timeout=10)
    assert response.status_code == 500
    assert JAS_MSG347 in response.text

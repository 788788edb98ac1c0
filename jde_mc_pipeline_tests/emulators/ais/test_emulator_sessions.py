"""What the initial load's read sessions rely on in the AIS emulator (jde/slices.py), over real HTTP:
latency that overlaps across sessions, and AN8 ranges read through the key index."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from jde_mc_pipeline_tests.jde.conftest import AisCaller


def _condition(control_id, operator, *contents):
    return {
        "controlId": control_id,
        "operator": operator,
        "value": [{"content": content, "specialValueId": "LITERAL"} for content in contents],
    }


def test_latency_of_calls_on_different_sessions_overlaps(jde_emulator):
    """Each call sleeps in its own server thread, as a real AIS serves sessions on many worker threads:
    eight sessions' calls at once take about one latency, not eight (benchmarks/jde_extract.py)."""
    callers = [AisCaller(jde_emulator.url) for _ in range(8)]
    faults = f"{jde_emulator.url}/_emulator/faults"
    requests.post(faults, json={"latency_ms": 400}, timeout=10).raise_for_status()
    barrier = threading.Barrier(len(callers))
    statuses: list[int] = []

    def call(caller: AisCaller) -> None:
        barrier.wait()
        statuses.append(caller.data(targetName="F0101", maxPageSize="5").status_code)

    threads = [threading.Thread(target=call, args=(caller,)) for caller in callers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert statuses == [200] * 8
    assert 0.4 <= elapsed < 1.6  # serialised, the eight calls would take 3.2 s


@pytest.mark.parametrize(
    ("conditions", "match", "predicate"),
    [
        ([("GREATER_EQUAL", "1002"), ("LESS", "1005")], "MATCH_ALL", lambda an8: 1002 <= an8 < 1005),
        (
            [("GREATER", "1001"), ("LESS_EQUAL", "1005"), ("BETWEEN", "1002", "1009")],
            "MATCH_ALL",
            lambda an8: 1002 <= an8 <= 1005,
        ),
        ([("GREATER_EQUAL", "1010"), ("LIST", "1002", "1011")], "MATCH_ALL", lambda an8: an8 == 1011),
        ([("LESS", "1003"), ("GREATER", "1024")], "MATCH_ANY", lambda an8: an8 < 1003 or an8 > 1024),
        ([("GREATER_EQUAL", "1010"), ("LESS", "1005")], "MATCH_ALL", lambda an8: False),
    ],
)
def test_an8_ranges_read_the_rows_a_scan_would_in_key_order(
    jde_caller, jde_dataset, conditions, match, predicate
):
    """AN8 ranges read their candidates through the key index: the rows the conditions select from a
    child table with several rows per AN8 (1002 has two e-mails), in key order."""
    query = {
        "matchType": match,
        "condition": [_condition("F01151.AN8", operator, *values) for operator, *values in conditions],
    }
    rows = jde_caller.rows("F01151", maxPageSize="No Max", query=query)
    expected = sorted(
        (r["EAAN8"], r["EAIDLN"], r["EARCK7"]) for r in jde_dataset["F01151"] if predicate(r["EAAN8"])
    )
    assert [(r["F01151_AN8"], r["F01151_IDLN"], r["F01151_RCK7"]) for r in rows] == expected

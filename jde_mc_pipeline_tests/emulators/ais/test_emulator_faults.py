"""Fault injection and statistics of the AIS emulator, changed at run time through `/_emulator/faults`."""

from __future__ import annotations

import time

import pytest
import requests

from jde_mc_pipeline_tests.jde.conftest import AisCaller


def _faults(server, **settings):
    return requests.post(f"{server.url}/_emulator/faults", json=settings, timeout=10)


def _stats(server):
    return requests.get(f"{server.url}/_emulator/stats", timeout=10).json()


def test_injected_errors_are_500_service_error_responses(jde_emulator, jde_caller):
    assert _faults(jde_emulator, fault_rate=1.0, fault_kinds=["error"]).status_code == 200
    response = jde_caller.data(targetName="F0101")
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == "ERROR" and body["message"] and body["exception"] and body["timeStamp"]
    assert _stats(jde_emulator)["faults_error"] == 1


def test_dropped_connections_reset_the_socket(jde_emulator, jde_caller):
    _faults(jde_emulator, fault_rate=1.0, fault_kinds=["drop"])
    with pytest.raises(requests.ConnectionError):
        jde_caller.data(targetName="F0101")
    stats = _stats(jde_emulator)
    assert stats["connections_dropped"] == 1
    assert stats["requests"]["POST /jderest/v2/dataservice"] == {"0": 1}


def test_revoked_tokens_get_444_until_a_new_token_is_requested(jde_emulator, jde_caller):
    _faults(jde_emulator, fault_rate=1.0, fault_kinds=["revoke"])
    response = jde_caller.data(targetName="F0101")
    assert response.status_code == 444
    assert response.json()["message"] == "Invalid Token"
    _faults(jde_emulator, fault_rate=0.0)
    assert jde_caller.data(targetName="F0101").status_code == 444  # the session is really gone
    jde_caller.token = jde_caller.login()  # token requests never meet a revoke fault
    assert jde_caller.data(targetName="F0101").status_code == 200


def test_revoke_only_faults_leave_token_requests_alone(jde_emulator):
    _faults(jde_emulator, fault_rate=1.0, fault_kinds=["revoke"])
    assert AisCaller(jde_emulator.url).token


def test_a_partial_fault_rate_is_reproducible_for_a_seed(jde_emulator_factory):
    def outcomes(seed):
        server = jde_emulator_factory(seed=seed)
        caller = AisCaller(server.url)
        _faults(server, fault_rate=0.5, fault_kinds=["error"])
        return [caller.data(targetName="F0101").status_code for _ in range(20)]

    first = outcomes(7)
    assert set(first) == {200, 500}
    assert outcomes(7) == first


def test_fault_rate_from_build_server(jde_emulator_factory):
    server = jde_emulator_factory(fault_rate=1.0)
    assert requests.get(f"{server.url}/_emulator/faults", timeout=10).json()["fault_rate"] == 1.0
    statuses = set()
    for _ in range(10):
        try:
            statuses.add(
                requests.post(f"{server.url}/jderest/v2/tokenrequest", json={}, timeout=10).status_code
            )
        except requests.ConnectionError:
            statuses.add("reset")
    assert statuses <= {500, "reset"} and statuses


def test_latency_is_added_to_ais_calls_but_not_to_controls(jde_emulator, jde_caller):
    _faults(jde_emulator, latency_ms=300)
    started = time.monotonic()
    assert jde_caller.data(targetName="F0101").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    _stats(jde_emulator)
    assert time.monotonic() - started < 0.3


def test_control_endpoints_are_never_faulted(jde_emulator):
    _faults(jde_emulator, fault_rate=1.0)
    for _ in range(5):
        assert requests.get(f"{jde_emulator.url}/_emulator/stats", timeout=10).status_code == 200


def test_bad_fault_settings_get_400(jde_emulator):
    for settings in ({"fault_rate": 2}, {"latency_ms": -1}, {"fault_kinds": ["fire"]}, {"bogus": 1}):
        response = _faults(jde_emulator, **settings)
        assert response.status_code == 400, settings
        assert response.json()["error"]


def test_required_session_cookie(jde_emulator):
    _faults(jde_emulator, require_cookie=True)
    with_jar = AisCaller(jde_emulator.url)  # keeps the JSESSIONID cookie in its session
    assert with_jar.data(targetName="F0101").status_code == 200
    body = {
        "token": with_jar.token,
        "deviceName": with_jar.device,
        "targetName": "F0101",
        "targetType": "table",
    }
    no_cookie = requests.post(f"{jde_emulator.url}/jderest/v2/dataservice", json=body, timeout=10)
    assert no_cookie.status_code == 444


def test_stats_count_requests_tokens_and_pages(jde_emulator, jde_caller):
    requests.post(f"{jde_emulator.url}/_emulator/stats/reset", timeout=10)
    jde_caller.data(targetName="F0101")
    jde_caller.data(targetName="F0101", token="044bad+/=")
    jde_caller.login()
    stats = _stats(jde_emulator)
    assert stats["requests"]["POST /jderest/v2/dataservice"] == {"200": 1, "444": 1}
    assert stats["requests"]["POST /jderest/v2/tokenrequest"] == {"200": 1}
    assert (stats["tokens_issued"], stats["responses_444"], stats["pages_served"]) == (1, 1, 1)
    assert stats["tokens_active"] == 2
    assert stats["rows"]["F0101"] == 30

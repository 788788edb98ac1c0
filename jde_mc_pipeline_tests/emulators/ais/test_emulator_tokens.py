"""Token lifecycle of the AIS emulator over real HTTP: issue, refuse, bind, expire, log out."""

from __future__ import annotations

import base64

import requests

TOKEN_URL = "/jderest/v2/tokenrequest"
LOGIN = {"username": "JDE", "password": "JDE", "deviceName": "dev-a", "environment": "JDV920", "role": "*ALL"}


def _post(server, path, body=None, **kwargs):
    return requests.post(f"{server.url}{path}", json=body, timeout=10, **kwargs)


def _browse(server, token, device="dev-a", **extra):
    body = {"token": token, "deviceName": device, "targetName": "F0101", "targetType": "table", **extra}
    return _post(server, "/jderest/v2/dataservice", body)


def _assert_invalid_token(response):
    assert response.status_code == 444
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["message"] == "Invalid Token"
    assert body["exception"] == "java.lang.Exception"
    assert body["timeStamp"]


def test_token_response_has_the_documented_fields_and_a_session_cookie(jde_emulator):
    response = _post(jde_emulator, TOKEN_URL, LOGIN)

    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["environment"], body["role"]) == ("JDE", "JDV920", "*ALL")
    info = body["userInfo"]
    for name in ("langPref", "locale", "dateFormat", "addressNumber", "alphaName", "decimalFormat"):
        assert name in info
    assert (info["simpleDateFormat"], info["dateFormat"], info["dateSeperator"]) == ("MM/dd/yyyy", "MDE", "/")
    assert all(ch in info["token"] for ch in "+/=")
    documented = (
        "jasserver",
        "userAuthorized",
        "version",
        "poStringJSON",
        "altPoStringJSON",
        "aisSessionCookie",
    )
    assert all(name in body for name in documented)
    assert "JSESSIONID" in response.cookies


def test_each_token_request_gets_a_new_token(jde_emulator):
    first = _post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    second = _post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    assert first != second


def test_the_user_date_format_is_configurable(jde_emulator_factory):
    server = jde_emulator_factory(simple_date_format="dd.MM.yyyy")
    info = _post(server, TOKEN_URL, LOGIN).json()["userInfo"]
    assert (info["simpleDateFormat"], info["dateFormat"], info["dateSeperator"]) == ("dd.MM.yyyy", "DME", ".")


def test_bad_password_unknown_user_and_other_environment_get_403(jde_emulator):
    for override in ({"password": "wrong"}, {"username": "SOMEONE"}, {"environment": "JPD920"}):
        response = _post(jde_emulator, TOKEN_URL, {**LOGIN, **override})
        assert response.status_code == 403, override
        assert response.json()["message"].startswith("Authorization Failure")


def test_configured_credentials_are_the_only_ones_accepted(jde_emulator_factory):
    server = jde_emulator_factory(username="SYNC", password="s3cret", environment="JPY920")
    assert _post(server, TOKEN_URL, LOGIN).status_code == 403
    good = {**LOGIN, "username": "sync", "password": "s3cret", "environment": "JPY920"}
    assert _post(server, TOKEN_URL, good).status_code == 200


def test_missing_credentials_get_400(jde_emulator):
    assert _post(jde_emulator, TOKEN_URL, {"deviceName": "dev-a"}).status_code == 400


def test_header_login_with_basic_authorization(jde_emulator):
    headers = {
        "Authorization": "Basic " + base64.b64encode(b"JDE:JDE").decode(),
        "jde-AIS-Auth-Environment": "JDV920",
        "jde-AIS-Auth-Role": "*ALL",
        "jde-AIS-Auth-Device": "dev-a",
    }
    response = requests.post(f"{jde_emulator.url}{TOKEN_URL}", headers=headers, timeout=10)
    assert response.status_code == 200
    token = response.json()["userInfo"]["token"]
    assert _browse(jde_emulator, token).status_code == 200
    headers["Authorization"] = "Basic " + base64.b64encode(b"JDE:nope").decode()
    assert requests.post(f"{jde_emulator.url}{TOKEN_URL}", headers=headers, timeout=10).status_code == 403


def test_token_in_headers_with_any_case(jde_emulator):
    token = _post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    body = {"targetName": "F0101", "targetType": "table"}
    headers = {"JDE-AIS-AUTH": token, "jde-ais-auth-device": "dev-a"}
    response = _post(jde_emulator, "/jderest/v2/dataservice", body, headers=headers)
    assert response.status_code == 200


def test_unknown_token_gets_444_with_a_json_body_everywhere(jde_emulator):
    _assert_invalid_token(_browse(jde_emulator, "044bogus+/="))
    _assert_invalid_token(_post(jde_emulator, f"{TOKEN_URL}/validate", {"token": "044bogus+/="}))
    _assert_invalid_token(_post(jde_emulator, f"{TOKEN_URL}/logout", {"token": "044bogus+/="}))
    _assert_invalid_token(_browse(jde_emulator, None))


def test_token_is_bound_to_its_device(jde_emulator):
    token = _post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    _assert_invalid_token(_browse(jde_emulator, token, device="dev-b"))
    _assert_invalid_token(_browse(jde_emulator, token, device=None))
    other_device = {"token": token, "deviceName": "dev-b"}
    _assert_invalid_token(_post(jde_emulator, f"{TOKEN_URL}/validate", other_device))
    assert _browse(jde_emulator, token).status_code == 200


def test_token_without_device_is_bound_to_the_caller_address(jde_emulator):
    token = _post(jde_emulator, TOKEN_URL, {**LOGIN, "deviceName": None}).json()["userInfo"]["token"]
    assert _browse(jde_emulator, token, device=None).status_code == 200


def test_idle_token_expires_after_the_ttl_and_each_call_touches_it(jde_emulator_factory):
    from jde_mc_pipeline.emulators.ais.clock import ManualClock
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

    clock = ManualClock(DATASET_NOW)
    server = jde_emulator_factory(token_ttl=60, clock=clock)
    token = _post(server, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    clock.advance(59)
    assert _browse(server, token).status_code == 200
    clock.advance(59)  # 118 s after issue, 59 s after the last use
    assert _browse(server, token).status_code == 200
    clock.advance(61)
    _assert_invalid_token(_browse(server, token))
    _assert_invalid_token(_browse(server, token))  # gone for good
    stats = requests.get(f"{server.url}/_emulator/stats", timeout=10).json()
    assert stats["responses_444"] == 2
    assert stats["tokens_issued"] == 1


def test_validate_touches_only_when_asked(jde_emulator_factory):
    from jde_mc_pipeline.emulators.ais.clock import ManualClock
    from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW

    clock = ManualClock(DATASET_NOW)
    server = jde_emulator_factory(token_ttl=60, clock=clock)
    token = _post(server, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    clock.advance(50)
    response = _post(server, f"{TOKEN_URL}/validate", {"token": token, "deviceName": "dev-a"})
    assert response.json() == {"isValidSession": True}
    clock.advance(20)  # 70 s since the last touch: validate without touch did not count
    _assert_invalid_token(_post(server, f"{TOKEN_URL}/validate", {"token": token}))

    token = _post(server, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    clock.advance(50)
    assert _post(server, f"{TOKEN_URL}/validate", {"token": token, "touch": True}).status_code == 200
    clock.advance(20)
    assert _browse(server, token).status_code == 200


def test_logout_ends_the_session(jde_emulator):
    token = _post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"]
    headers = {"jde-AIS-Auth": token, "jde-AIS-Auth-Device": "dev-a"}
    response = _post(jde_emulator, f"{TOKEN_URL}/logout", {}, headers=headers)
    assert (response.status_code, response.json()) == (200, {"status": "Success"})
    _assert_invalid_token(_browse(jde_emulator, token))
    _assert_invalid_token(_post(jde_emulator, f"{TOKEN_URL}/logout", {"token": token}))
    stats = requests.get(f"{jde_emulator.url}/_emulator/stats", timeout=10).json()
    assert stats["logouts"] == 1


def test_control_endpoint_expires_every_token(jde_emulator):
    tokens = [_post(jde_emulator, TOKEN_URL, LOGIN).json()["userInfo"]["token"] for _ in range(3)]
    response = requests.post(f"{jde_emulator.url}/_emulator/tokens/expire", timeout=10)
    assert response.json() == {"expired": 3}
    for token in tokens:
        _assert_invalid_token(_browse(jde_emulator, token))


def test_non_json_post_gets_415_and_malformed_json_400(jde_emulator):
    url = f"{jde_emulator.url}{TOKEN_URL}"
    response = requests.post(url, data="username=JDE&password=JDE", timeout=10)  # form-encoded
    assert response.status_code == 415
    response = requests.post(url, data="{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 415
    response = requests.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    json_utf8 = {"Content-Type": "application/json; charset=utf-8"}
    response = requests.post(url, data="[1, 2]", headers=json_utf8, timeout=10)
    assert response.status_code == 400


def test_only_post_is_served(jde_emulator):
    assert requests.get(f"{jde_emulator.url}/jderest/v2/dataservice", timeout=10).status_code == 405
    assert requests.post(f"{jde_emulator.url}/jderest/v2/nothing", json={}, timeout=10).status_code == 404


def test_default_config_needs_no_token(jde_emulator_factory):
    server = jde_emulator_factory(token_ttl=600)
    for path in ("/jderest/defaultconfig", "/jderest/v2/defaultconfig"):
        body = requests.get(f"{server.url}{path}", timeout=10).json()
        assert (body["defaultEnvironment"], body["sessionTimeout"]) == ("JDV920", "10")
        assert "nextPage" in [capability["name"] for capability in body["capabilityList"]]

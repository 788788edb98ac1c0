"""The AIS client over real HTTP against the emulator: typed frames, paging, token lifecycle, recovery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.errors import AisAuthError, AisRequestError, AisServerError
from jde_mc_pipeline.jde.query import Condition
from jde_mc_pipeline.jde.session import RetryPolicy
from jde_mc_pipeline.jde.tables import TABLES

FAST_RETRY = RetryPolicy(max_attempts=6, initial_wait=0.001, max_wait=0.01)


def make_client(url: str, **options: Any) -> AisClient:
    settings: dict[str, Any] = {"environment": "JDV920", "retry": FAST_RETRY, "read_timeout": 10.0}
    settings.update(options)
    username, password = settings.pop("username", "JDE"), settings.pop("password", "JDE")
    return AisClient(url, username, password, **settings)


def emulator_stats(url: str) -> dict[str, Any]:
    return requests.get(f"{url}/_emulator/stats", timeout=5).json()


def upsert(url: str, table: str, rows: list[dict[str, Any]]) -> None:
    requests.post(f"{url}/_emulator/tables/{table}/rows", json=rows, timeout=5).raise_for_status()


def test_category_codes_on_demand_are_read_only_when_asked_for(jde_emulator: Any) -> None:
    """AC06-AC30 cost every read when no segment field sends them: a client reads one when its
    `on_demand` names it (the sync sets it from the segment fields), and AIS is asked for it."""
    upsert(jde_emulator.url, "F0101", [{"ABAN8": 1001, "ABAC07": "LX"}])
    with make_client(jde_emulator.url) as client:
        client.on_demand = {"F0101": ("AC07",)}
        frame = client.browse("F0101")
        listed = client.browse_an8s("F0101", [1001, 1002])
        sibling = client.sibling()
    by_an8 = frame.set_index("AN8")
    assert by_an8.loc[1001, "AC07"] == "LX" and by_an8.loc[1002, "AC07"] == ""
    assert "AC08" not in frame.columns
    assert list(listed["AC07"]) == ["LX", ""]
    assert sibling.on_demand == {"F0101": ("AC07",)}


def test_browse_returns_the_contract_frame(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        frame = client.browse("F0101")
    assert list(frame.columns) == [*TABLES["F0101"].read_aliases(), "updated_at"]
    assert "AC05" in frame.columns and "AC06" not in frame.columns  # AC06-AC30: on demand
    assert len(frame) == 30
    assert frame["AN8"].dtype == "Int64" and frame["UPMT"].dtype == "Int64"
    assert frame["UPMJ"].dtype == "datetime64[ns]" and frame["EFTB"].dtype == "datetime64[ns]"
    assert str(frame["updated_at"].dtype) == "datetime64[ns, UTC]"
    row = frame.set_index("AN8").loc[1003]
    assert row["ALPH"] == "Müller GmbH"  # trailing padding trimmed, non-ASCII intact
    assert row["MCU"] == "1000"  # leading blanks trimmed too (frames contract)
    assert row["UPMJ"] == pd.Timestamp("2025-01-21") and row["UPMT"] == 80300
    assert row["updated_at"] == pd.Timestamp("2025-01-21 08:03:00", tz="UTC")
    assert pd.isna(row["EFTB"])  # odd AN8: blank date
    assert frame.set_index("AN8").loc[1004, "EFTB"] == pd.Timestamp("2020-01-01")
    assert frame.set_index("AN8").loc[1004, "ALPH"] == "東京商事"
    assert frame["RMK"].map(type).eq(str).all()  # blank strings are "" not NaN


def test_updated_at_in_jde_time_zone(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, timezone="America/Chicago") as client:
        frame = client.browse("F0101", [Condition("AN8", "EQUAL", (1030,))])
    assert str(frame["updated_at"].dtype) == "datetime64[ns, America/Chicago]"
    assert frame["updated_at"].iloc[0] == pd.Timestamp("2025-11-20 14:30:00", tz="America/Chicago")


def test_paging_follows_next_links_to_the_end(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, page_size=7) as client:
        frame = client.browse("F0101", columns=["ALPH"])
        assert client.stats.pages == 5  # 30 rows, 7 per page
    assert list(frame.columns) == ["ALPH", "AN8", "updated_at"][:2]
    assert sorted(frame["AN8"]) == list(range(1001, 1031))
    served = emulator_stats(jde_emulator.url)["requests"]
    assert served["POST /jderest/v2/dataservice/next"] == {"200": 4}


def test_empty_result_is_a_typed_empty_frame(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        frame = client.browse("F0115", [Condition("AN8", "EQUAL", (999,))])
    assert frame.empty
    assert list(frame.columns) == [*TABLES["F0115"].aliases, "updated_at"]
    assert frame["AN8"].dtype == "Int64" and frame["UPMJ"].dtype == "datetime64[ns]"


def test_list_reads_in_chunks(jde_emulator: Any) -> None:
    wanted = list(range(1001, 1031))
    with make_client(jde_emulator.url) as client:
        frame = client.browse_an8s("F0101", wanted, columns=["ALPH"], chunk_size=7)
        assert client.stats.data_calls == 5  # ceil(30 / 7) LIST queries
    assert sorted(frame["AN8"]) == wanted


def test_token_expired_between_calls_is_renewed_once(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        first = client.browse("F0111")
        requests.post(f"{jde_emulator.url}/_emulator/tokens/expire", json={}, timeout=5).raise_for_status()
        second = client.browse("F0111")
        assert client.stats.tokens == 2 and client.stats.reauths == 1
    pd.testing.assert_frame_equal(first, second)
    stats = emulator_stats(jde_emulator.url)
    assert stats["requests"]["POST /jderest/v2/dataservice"].get("444") == 1
    assert stats["tokens_active"] == 0


def read_pages_with(client: AisClient, between_pages: Callable[[], None], **query: Any) -> list[dict]:
    """All rows of F0116 page by page, calling `between_pages` after the first page."""
    rows: list[dict] = []
    for number, page in enumerate(client.iter_pages("F0116", **query)):
        rows.extend(page)
        if number == 0:
            between_pages()
    return rows


def assert_all_addresses_once(rows: list[dict]) -> None:
    keys = [(r["F0116_AN8"], r["F0116_EFTB"]) for r in rows]
    assert len(keys) == len(set(keys)) == 31  # 30 parties, 1001 with a future row too


def test_token_idle_expiry_in_the_middle_of_paging(jde_emulator_factory: Any, jde_dataset: Any) -> None:
    clock = ManualClock(dt.datetime(2025, 11, 27, 12))
    server = jde_emulator_factory(clock=clock, token_ttl=60)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    with make_client(server.url, page_size=4) as client:
        rows = read_pages_with(client, lambda: clock.advance(61))
        assert client.stats.reauths == 1 and client.stats.restarts == 1 and client.stats.tokens == 2
    assert_all_addresses_once(rows)
    assert emulator_stats(server.url)["requests"]["POST /jderest/v2/dataservice/next"]["444"] == 1


def test_revoked_token_in_the_middle_of_paging(jde_emulator: Any) -> None:
    def expire() -> None:
        requests.post(f"{jde_emulator.url}/_emulator/tokens/expire", json={}, timeout=5).raise_for_status()

    with make_client(jde_emulator.url, page_size=3) as client:
        rows = read_pages_with(client, expire)
        assert client.stats.reauths == 1
    assert_all_addresses_once(rows)


def test_expired_result_set_reruns_the_query(jde_emulator_factory: Any, jde_dataset: Any) -> None:
    clock = ManualClock(dt.datetime(2025, 11, 27, 12))
    server = jde_emulator_factory(clock=clock, result_set_ttl=5)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    with make_client(server.url, page_size=4) as client:
        rows = read_pages_with(client, lambda: clock.advance(6))
        assert client.stats.restarts == 1 and client.stats.reauths == 0
    assert_all_addresses_once(rows)
    assert emulator_stats(server.url)["requests"]["POST /jderest/v2/dataservice/next"]["500"] == 1


def test_expired_result_set_with_a_caller_order_restarts_from_the_start(
    jde_emulator_factory: Any, jde_dataset: Any
) -> None:
    clock = ManualClock(dt.datetime(2025, 11, 27, 12))
    server = jde_emulator_factory(clock=clock, result_set_ttl=5)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    with make_client(server.url, page_size=4) as client:
        rows = read_pages_with(client, lambda: clock.advance(6), order_by=[("CTY1", "ASC"), ("ADDZ", "DESC")])
        assert client.stats.restarts == 1
    assert_all_addresses_once(rows)


def test_every_page_expiring_still_completes(jde_emulator_factory: Any, jde_dataset: Any) -> None:
    clock = ManualClock(dt.datetime(2025, 11, 27, 12))
    server = jde_emulator_factory(clock=clock, result_set_ttl=5)
    for table, rows in jde_dataset.items():
        upsert(server.url, table, rows)
    rows: list[dict] = []
    with make_client(server.url, page_size=5) as client:
        for page in client.iter_pages("F0116"):
            rows.extend(page)
            clock.advance(6)  # a slow consumer: every next page finds its result set expired
        # each re-run starts at the last AN8 read (its row skipped): pages of 5, then 7 x 4 new rows
        assert client.stats.restarts == 7 and client.stats.pages == 8
    assert_all_addresses_once(rows)


def test_injected_faults_are_survived_without_losing_rows(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url, page_size=4) as client:
        expected = {name: client.browse(name) for name in TABLES}
    requests.post(
        f"{jde_emulator.url}/_emulator/faults", json={"fault_rate": 0.3}, timeout=5
    ).raise_for_status()
    with make_client(jde_emulator.url, page_size=4) as client:
        survived = {name: client.browse(name) for name in TABLES}
        assert client.stats.retries + client.stats.restarts + client.stats.reauths > 0
    requests.post(
        f"{jde_emulator.url}/_emulator/faults", json={"fault_rate": 0}, timeout=5
    ).raise_for_status()
    for name in TABLES:
        pd.testing.assert_frame_equal(survived[name], expected[name])
    served = emulator_stats(jde_emulator.url)["requests"]
    assert any("500" in counts for counts in served.values())


def test_cookies_are_kept_for_sticky_sessions(jde_emulator: Any) -> None:
    requests.post(f"{jde_emulator.url}/_emulator/faults", json={"require_cookie": True}, timeout=5)
    with make_client(jde_emulator.url, page_size=10) as client:
        assert len(client.browse("F0101")) == 30
        assert client.stats.reauths == 0


def test_a_4xx_fails_at_once_with_a_clear_message_without_secrets(jde_emulator_factory: Any) -> None:
    password = "Pa55-w0rd+/="
    server = jde_emulator_factory(password=password)
    client = make_client(server.url, password=password)
    with client, pytest.raises(AisRequestError) as failure:
        token = client._session._token
        client.browse("F0101", [Condition("NOSUCH", "EQUAL", ("x",))])
    message = str(failure.value)
    assert failure.value.status == 400 and failure.value.table == "F0101"
    assert "F0101" in message and "400" in message and "NOSUCH" in message
    assert password not in message and token and token not in message
    assert client.stats.data_calls == 1 and client.stats.retries == 0


def test_bad_credentials_fail_without_the_password(jde_emulator: Any) -> None:
    client = make_client(jde_emulator.url, password="wrong-secret")
    with pytest.raises(AisAuthError) as failure, client:
        pass
    assert failure.value.status == 403
    assert "JDE" in str(failure.value) and "wrong-secret" not in str(failure.value)
    assert client.stats.tokens == 1 and client.stats.retries == 0


def test_logout_at_the_end_and_on_failure(jde_emulator: Any) -> None:
    with make_client(jde_emulator.url) as client:
        client.browse("F0111", columns=["MLNM"])
    assert emulator_stats(jde_emulator.url)["logouts"] == 1
    with pytest.raises(RuntimeError), make_client(jde_emulator.url) as client:
        client.browse("F0111", columns=["MLNM"])
        raise RuntimeError("the mapping failed")
    stats = emulator_stats(jde_emulator.url)
    assert stats["logouts"] == 2 and stats["tokens_active"] == 0


def test_logout_after_a_failed_read(jde_emulator: Any) -> None:
    with pytest.raises(AisRequestError), make_client(jde_emulator.url) as client:
        client.browse("F0101", [Condition("NOSUCH", "EQUAL", ("x",))])
    stats = emulator_stats(jde_emulator.url)
    assert stats["logouts"] == 1 and stats["tokens_active"] == 0


def test_unreachable_server_fails_after_bounded_retries() -> None:
    with socket_closed_port() as url:
        client = make_client(url, connect_timeout=0.5)
        with pytest.raises(AisServerError) as failure:
            client.login()
    assert "after 6 attempt(s)" in str(failure.value)
    assert client.stats.calls == 6 and client.stats.retries == 5


def test_next_links_are_rebased_and_lose_their_token() -> None:
    client = make_client("http://127.0.0.1:8999/ais/")
    href = (
        "http://internal-ais:9999/jderest/v2/dataservice/next?stackId=1&token=044a%2Bb%3D&rid=x&fullGridId=5"
    )
    assert (
        client._next_url(href)
        == "http://127.0.0.1:8999/ais/jderest/v2/dataservice/next?stackId=1&rid=x&fullGridId=5"
    )


class socket_closed_port:  # noqa: N801 - used as a context manager, reads like one
    """A URL on 127.0.0.1 where nothing listens (the port is bound then released)."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        return None

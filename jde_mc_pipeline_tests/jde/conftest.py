"""Fixtures for everything that talks to the JDE AIS emulator over real HTTP.

- `jde_emulator_factory(**build_server_kwargs)` starts an emulator (see
  `jde_mc_pipeline.emulators.ais.server.build_server`) and stops every one it started at teardown.
- `jde_emulator`: a started emulator holding `emulator_dataset()` (below), with a `ManualClock` at
  `DATASET_NOW` as `jde_emulator.clock` (`.advance(seconds)` moves it: token and result-set expiry,
  UPMJ/UPMT stamping). Credentials JDE/JDE, environment JDV920, date format MM/dd/yyyy, token TTL
  1800 s, result-set TTL 60 s.
- `jde_dataset`: the rows `jde_emulator` was loaded with, by table, in database form.
- `jde_caller`: an `AisCaller` logged in to `jde_emulator` as device `test-device` (the emulator's own
  tests use it to send raw requests; it is deliberately not the project's AIS client).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.formats import to_julian
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer, build_server

DATASET_NOW = datetime(2025, 11, 27, 12, 0, 0)
"""JDE-local now of the `jde_emulator` fixture's clock."""


def emulator_dataset() -> dict[str, list[dict[str, Any]]]:
    """30 parties, AN8 1001-1030, across the six tables, in database form (deterministic).

    - F0101: AT1 `C` for 1001-1020, `V` for 1021-1025, `E` for 1026-1028, `O` for 1029-1030. ALPH
      `Party NN` with trailing padding, except 1003 `Müller GmbH`, 1004 `東京商事` and 1005 a
      40-character name. MCU right-justified (`"        1000"`). UPMJ 2025-01-01 + 10 days per party
      (1001 → 2025-01-01 … 1028 → 2025-09-28), UPMT 080000 + 100 × n; 1029 and 1030 share UPMJ
      2025-11-20 at UPMT 093000 and 143000. EFTB blank (0) except even AN8s (2020-01-01).
    - F03012: CO `00000` for the customers 1001-1020, stamped like their F0101 row.
    - F0116: one address per party (EFTB 2020-01-01, US, state blank for 1007); 1001 also has a future
      row (EFTB 2026-01-01).
    - F01151: an e-mail (IDLN 0, RCK7 1, ETP `E`) for 1001-1025; 1002 has a second one (RCK7 2);
      1005's e-mail changed on 2025-11-25 at 101500 while its F0101 row did not (child-only change).
    - F0115: a phone for every third party (1003, 1006, …), PHTP blank, 1009's is `FAX`.
    - F0111: IDLN 0 for every party, MLNM = the F0101 name.
    """
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("F0101", "F03012", "F0116", "F01151", "F0115", "F0111")
    }
    for n in range(1, 31):
        an8 = 1000 + n
        upmj, upmt = to_julian(date(2025, 1, 1) + timedelta(days=10 * (n - 1))), 80000 + 100 * n
        if n >= 29:
            upmj, upmt = to_julian(date(2025, 11, 20)), 93000 if n == 29 else 143000
        stamp = {"UPMJ": upmj, "UPMT": upmt, "USER": "LOADER", "PID": "R01010", "JOBN": "JDESRV01"}
        at1 = "C" if n <= 20 else "V" if n <= 25 else "E" if n <= 28 else "O"
        name = {3: "Müller GmbH", 4: "東京商事", 5: "Abcdefghij Klmnopqrst Uvwxyzabcd Efghijk"}.get(
            n, f"Party {n:02d}"
        )
        rows["F0101"].append(
            _prefixed(
                "AB",
                {
                    "AN8": an8,
                    "ALPH": name + "   ",
                    "AT1": at1,
                    "MCU": "        1000",
                    "TAX": f"TX{n:04d}",
                    "EFTB": to_julian(date(2020, 1, 1)) if n % 2 == 0 else 0,
                    **stamp,
                },
            )
        )
        if at1 == "C":
            rows["F03012"].append(
                _prefixed("AI", {"AN8": an8, "CO": "00000", "CUSTS": "", "HOLD": "", **stamp})
            )
        address = {
            "AN8": an8,
            "EFTB": to_julian(date(2020, 1, 1)),
            "ADD1": f"{n} Main Street",
            "CTY1": "Denver",
            "ADDS": "" if n == 7 else "CO",
            "ADDZ": f"80{n:03d}",
            "CTR": "US",
            **stamp,
        }
        rows["F0116"].append(_prefixed("AL", address))
        if n == 1:
            rows["F0116"].append(
                _prefixed("AL", {**address, "EFTB": to_julian(date(2026, 1, 1)), "ADD1": "9 New Road"})
            )
        if n <= 25:
            email = {"AN8": an8, "IDLN": 0, "RCK7": 1, "ETP": "E", "EMAL": f"party{n}@example.com", **stamp}
            if n == 5:
                email.update(UPMJ=to_julian(date(2025, 11, 25)), UPMT=101500)
            rows["F01151"].append(_prefixed("EA", email))
            if n == 2:
                rows["F01151"].append(_prefixed("EA", {**email, "RCK7": 2, "EMAL": "second@example.com"}))
        if n % 3 == 0:
            phone = {
                "AN8": an8,
                "IDLN": 0,
                "RCK7": 1,
                "CNLN": 1,
                "PHTP": "FAX" if n == 9 else "",
                "AR1": "303",
                "PH1": f"555-01{n:02d}",
                **stamp,
            }
            rows["F0115"].append(_prefixed("WP", phone))
        rows["F0111"].append(_prefixed("WW", {"AN8": an8, "IDLN": 0, "MLNM": name, "ALPH": name, **stamp}))
    return rows


def _prefixed(prefix: str, row: dict[str, Any]) -> dict[str, Any]:
    return {prefix + alias: value for alias, value in row.items()}


@pytest.fixture
def jde_emulator_factory() -> Iterator[Callable[..., JdeEmulatorServer]]:
    """A function taking `build_server` keyword arguments and returning a started emulator."""
    started: list[JdeEmulatorServer] = []

    def start(**kwargs: Any) -> JdeEmulatorServer:
        server = build_server(**kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def jde_dataset() -> dict[str, list[dict[str, Any]]]:
    """The rows of `jde_emulator`, by table, in database form."""
    return emulator_dataset()


@pytest.fixture
def jde_emulator(
    jde_emulator_factory: Callable[..., JdeEmulatorServer], jde_dataset: dict[str, list[dict[str, Any]]]
) -> JdeEmulatorServer:
    """A started emulator with `emulator_dataset()` loaded and a ManualClock at DATASET_NOW."""
    server = jde_emulator_factory(clock=ManualClock(DATASET_NOW))
    for table_name, rows in jde_dataset.items():
        response = requests.post(f"{server.url}/_emulator/tables/{table_name}/rows", json=rows, timeout=10)
        response.raise_for_status()
    return server


class AisCaller:
    """Raw AIS calls for tests: a token, and `data(**fields)` posting a data request with it."""

    device = "test-device"

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.token = self.login()

    def login(self, **overrides: Any) -> str:
        """Request a token (raises on failure) and return it."""
        body = {
            "username": "JDE",
            "password": "JDE",
            "deviceName": self.device,
            "environment": "JDV920",
            **overrides,
        }
        response = self.http.post(f"{self.url}/jderest/v2/tokenrequest", json=body, timeout=10)
        response.raise_for_status()
        return response.json()["userInfo"]["token"]

    def data(self, **fields: Any) -> requests.Response:
        """POST /jderest/v2/dataservice with the token, a BROWSE of a table unless overridden."""
        body = {
            "token": self.token,
            "deviceName": self.device,
            "targetType": "table",
            "dataServiceType": "BROWSE",
        }
        return self.http.post(f"{self.url}/jderest/v2/dataservice", json={**body, **fields}, timeout=10)

    def rows(self, table_name: str, **fields: Any) -> list[dict[str, Any]]:
        """The rowset of a successful BROWSE (asserting success)."""
        response = self.data(targetName=table_name, **fields)
        assert response.status_code == 200, response.text
        return response.json()[f"fs_DATABROWSE_{table_name}"]["data"]["gridData"]["rowset"]


@pytest.fixture
def jde_caller(jde_emulator: JdeEmulatorServer) -> AisCaller:
    """An `AisCaller` logged in to `jde_emulator`."""
    return AisCaller(jde_emulator.url)

"""Emulator fixtures: one server per test session (per xdist worker), reset per test.

``emulator`` is the running :class:`EmulatorServer` (``.url``, ``.emulator``);
``gspread_client`` is real gspread pointed at it through our rewriting session;
``controls`` is a tiny HTTP helper for the ``/_emulator/`` test controls (faults,
quotas, counters, and ``wait_held`` / ``release`` for requests a ``pause`` fault holds).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gspread
import pytest
import requests

from sheets_emulator.client import emulator_client
from sheets_emulator.server import EmulatorServer


@pytest.fixture(scope="session")
def _emulator_server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def emulator(_emulator_server: EmulatorServer) -> EmulatorServer:
    """The emulator, emptied (spreadsheets, counters, faults, quotas) before each test."""
    _emulator_server.reset()
    return _emulator_server


@pytest.fixture
def gspread_client(emulator: EmulatorServer) -> gspread.Client:
    client = emulator_client(emulator.url)
    client.set_timeout(10)
    return client


class EmulatorControls:
    """``/_emulator/...`` over HTTP, as a benchmark or another process would use it."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/_emulator"

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self._post("faults", spec)

    def quotas(self, **spec: Any) -> dict[str, Any]:
        return self._post("quotas", spec)

    def counters(self) -> dict[str, Any]:
        response = requests.get(f"{self.url}/counters", timeout=10)
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        self._post("reset", {})

    def faults(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/faults", timeout=10)
        response.raise_for_status()
        return list(response.json()["faults"])

    def held(self) -> int:
        """How many requests ``pause`` faults hold right now."""
        return sum(int(f.get("holding", 0)) for f in self.faults())

    def wait_held(self, count: int = 1, timeout: float = 10) -> None:
        """Wait until ``pause`` faults hold at least ``count`` requests (AssertionError after
        ``timeout`` seconds): the request under test has reached the emulator and waits."""
        deadline = time.monotonic() + timeout
        while (held := self.held()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{held} request(s) held after {timeout} s, wanted {count}")
            time.sleep(0.01)

    def release(self) -> int:
        """Let every held request go on (each is then served normally); returns how many."""
        return int(self._post("release", {})["released"])

    def forbid(self, spreadsheet_id: str) -> None:
        self._post(f"spreadsheets/{spreadsheet_id}/access", {"allowed": False})

    def _post(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.url}/{name}", json=body, timeout=10)
        response.raise_for_status()
        return dict(response.json())


@pytest.fixture
def controls(emulator: EmulatorServer) -> EmulatorControls:
    return EmulatorControls(emulator.url)

"""What several benchmarks need: the emulator in a process of its own, its
counters, and a scratch PostgreSQL database.

The scripts append this folder to the *end* of ``sys.path`` (after the
installed package), so ``bench/sheets_sync.py`` never shadows the package
while this module stays importable.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tool(name: str) -> str:
    """A console script of this venv (``sheets-sync``, ``gunicorn``)."""
    return str(Path(sys.executable).with_name(name))


def wait_up(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Poll ``url`` until it answers; fail fast if the process died first."""
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def start_emulator(*options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``sheets-sync emulator`` on a free loopback port, in its own process (``options``
    such as ``--lenient`` passed on)."""
    port = free_port()
    proc = subprocess.Popen(
        [tool("sheets-sync"), "emulator", "--port", str(port), *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/_emulator/counters", proc, "emulator")
    return proc, url


def counters(url: str) -> dict[str, Any]:
    return dict(requests.get(url + "/_emulator/counters", timeout=10).json())


@contextmanager
def scratch_postgres(admin_url: str) -> Iterator[str]:
    """A database of its own (never a fixed name another run could drop), dropped after."""
    name = f"sheets_sync_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def figure(value: Any) -> str:
    """A result printed for people: seconds to hundredths, counts with thousands separators."""
    if isinstance(value, float):
        return f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)

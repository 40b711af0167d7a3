"""Shared fixtures: real databases (SQLite always, PostgreSQL when reachable).

Every test that takes ``engine`` (or ``db_url``) runs once per database kind.
Under ``CI=true`` an unreachable PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner
from fresh_databases import copy_sqlite_template, fresh_postgres
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from sheets_sync.db import make_engine
from sheets_sync.db_init import init_db

pytest_plugins = [
    "fixtures_emulator",
    "fixtures_sync",
    "fixtures_webhook",
    "fixtures_sidebar",
    "fixtures_pricing",
]

DB_KINDS = ("sqlite", "postgresql")
PG_ADMIN_URL = os.environ.get(
    "SHEETS_SYNC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str, in_ci: str = "") -> NoReturn:
    """A tool or service a test needs is missing: a skip on a developer's machine, a failure
    under ``CI=true``, where ``.ci/run`` provides it (``in_ci`` says how)."""
    if IN_CI:
        pytest.fail(f"{reason} ({in_ci})" if in_ci else reason)
    pytest.skip(reason)


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        return str(error).splitlines()[0]
    return None


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (per xdist worker), dropped after."""
    reason = _pg_reachable()
    if reason is not None:
        unavailable(
            f"PostgreSQL unreachable at {PG_ADMIN_URL}: {reason}",
            "CI=true: PostgreSQL is required",
        )
    name = f"sheets_sync_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=DB_KINDS)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where this session's (worker's) SQLite database built by ``init_db`` is kept."""
    return tmp_path_factory.mktemp("template") / "tradein.db"


@pytest.fixture
def db_url(db_kind: str, tmp_path, request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of an empty database with the schema created, one per test
    (:mod:`fresh_databases`: copied or emptied, as ``init_db`` would leave it)."""
    if db_kind == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        yield copy_sqlite_template(template, tmp_path / "tradein.db")
        return
    url = request.getfixturevalue("pg_session_url")
    fresh_postgres(url)
    yield url


@pytest.fixture(scope="module", params=DB_KINDS)
def module_engine(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Engine]:
    """An empty database per kind shared by one test module: load it once, query it often.

    On PostgreSQL it is a schema named after the module, which the per-test
    ``engine`` fixture (it recreates ``public``) leaves alone.
    """
    name = request.module.__name__.rsplit(".", 1)[-1]
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp(name) / 'tradein.db'}")
    else:
        url = request.getfixturevalue("pg_session_url")
        with make_engine(url).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        engine = create_engine(url, connect_args={"options": f"-c search_path={name}"})
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path) -> CliRunner:
    """A CLI runner isolated from the developer's environment and working directory."""
    for key in list(os.environ):
        if key.startswith("SHEETS_SYNC_") and key != "SHEETS_SYNC_TEST_PG_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


@pytest.fixture(autouse=True, scope="session")
def own_temp_folder() -> Iterator[None]:
    """This test run's own temporary folder (``TMPDIR``), where the instance's memory budget
    lives by default (sheets_sync/jobs/memory.py): test runs on one machine at once then
    never wait for each other's syncs, as separate instances would not. Left in place: the
    fork server's files inside it are removed at exit, after every fixture."""
    folder = tempfile.mkdtemp(prefix="sheets-sync-tests-")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", folder)
        patch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
        yield

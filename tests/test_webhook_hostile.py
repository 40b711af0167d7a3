"""Nothing a caller sends, and no state of the database, makes the webhook answer 500.

Every request here is authenticated (a real ID token, or a real HMAC signature),
so it reaches the endpoints' own parsing: bodies nested a hundred thousand
deep, in other encodings, with invalid UTF-8, byte-order marks, keys given
twice, numbers of any size; then a hypothesis fuzz of raw bodies. Each is a
``400`` naming the problem or a normal answer, and the log never holds a
traceback. A database that is reachable but lacks the schema (never
initialised, a table dropped since, or made before ``price_changes.trace_id``)
is a ``503`` naming ``sheets-sync init-db`` on every endpoint, on both
databases.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hashlib
import hmac
import io
import json
import string
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures_webhook import SECRET, CertsServer, bearer, service_settings, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, inspect, select, text

from sheets_sync import db, db_init, schema
from sheets_sync.cli import main
from sheets_sync.db import make_engine
from webhook import create_app, runtime
from webhook.body import MAX_DEPTH
from webhook.runtime import ENGINE_KEY

SHEET = "1AbCdEfGhIjKlMnOpQrStUv"
RUN = "6f1c2b0e-3d4a-4b5c-8d9e-0a1b2c3d4e5f"
QUEUE = "projects/tradein-ops/locations/europe-west1/queues/sheets-refresh"
BODY_ENDPOINTS = ("/hooks/refresh", "/hooks/pricing", "/tasks/refresh")
PRICER = "lea@tradein.example"  # the ID token's email (fixtures_webhook.token)


def registry_text(pricer: bool) -> str:
    """One registered sheet; with ``pricer``, the token's owner may push its prices, so a
    push gets past the access rules to the database."""
    entry = f"spreadsheets:\n  - id: {SHEET}\n    name: Ops team\n"
    return entry + (f"    pricers: [{PRICER}]\n" if pricer else "")


def make(db_url: str, certs: CertsServer, tmp_path: Path, pricer: bool = False, **more: Any) -> Any:
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(registry_text(pricer))
    config = service_settings(
        db_url,
        certs,
        registry,
        hmac_secret=SECRET,
        sheets_api_url="http://127.0.0.1:9",  # nothing listens: a queued sync fails fast
        retry_deadline_seconds=1,
        **more,
    )
    return create_app({"TESTING": True, "SETTINGS": config, "LOG_STREAM": io.StringIO()})


def close(app: Any) -> None:
    """Wait for the runs the app started, and drop its executor and engine."""
    pool = app.extensions.pop(runtime.EXECUTOR_KEY, None)
    if pool is not None:
        pool.shutdown()
    engine = app.extensions.get(ENGINE_KEY)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def app(db_url: str, certs: CertsServer, tmp_path: Path, monkeypatch) -> Iterator[Any]:
    monkeypatch.setenv("GAE_ENV", "standard")  # the queue's and cron's headers count
    app = make(db_url, certs, tmp_path)
    yield app
    close(app)


@contextlib.contextmanager
def as_queue_target(app: Any) -> Iterator[None]:
    """The app told it is the Cloud Tasks queue's target for one request (its executor stays
    the in-process one, made without a queue)."""
    before = app.config["SETTINGS"]
    app.config["SETTINGS"] = before.replace(tasks_queue=QUEUE)
    try:
        yield
    finally:
        app.config["SETTINGS"] = before


_SIGNED: set[bytes] = set()


def signature(method: str, target: str, body: bytes) -> dict[str, str]:
    """A fresh signature each call: the same request twice in one second would otherwise
    carry the same one, a replay; a request signed before is signed a second further back."""
    stamp = int(time.time())
    while f"{stamp}.{method}.{target}.".encode() + body in _SIGNED:
        stamp -= 1
    message = f"{stamp}.{method}.{target}.".encode() + body
    _SIGNED.add(message)
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Signature": f"t={stamp},v1={digest}"}


def credentials(method: str, target: str, body: bytes, how: str) -> dict[str, str]:
    """The caller each endpoint takes: the queue (tasks), App Engine cron (the nightly run),
    else a person's ID token or a signed tool; ``local`` sends none (auth disabled)."""
    path = target.partition("?")[0]
    if path == "/tasks/refresh":
        return {"X-AppEngine-QueueName": QUEUE.rsplit("/", 1)[1]}
    if how == "local":
        return {}
    if path == "/cron/nightly":
        return {"X-Appengine-Cron": "true"}
    return bearer(token()) if how == "token" else signature(method, target, body)


def ask(app: Any, method: str, target: str, body: bytes, how: str = "token", **headers: str) -> Any:
    sent = {"Content-Type": "application/json", **credentials(method, target, body, how), **headers}
    queue = as_queue_target(app) if target == "/tasks/refresh" else contextlib.nullcontext()
    with queue:
        return app.test_client().open(target, method=method, data=body, headers=sent)


def post(app: Any, path: str, body: bytes, how: str = "token", **headers: str) -> Any:
    return ask(app, "POST", path, body, how, **headers)


def no_traceback(app: Any) -> None:
    logged = app.config["LOG_STREAM"].getvalue()
    assert "Traceback" not in logged and "unexpected error" not in logged


DEEP = 100_000
HOSTILE = [
    pytest.param(b"[" * DEEP + b"]" * DEEP, "body", f"nested {DEEP} levels deep", id="array-100k"),
    pytest.param(b'{"a":' * 40_000 + b"1" + b"}" * 40_000, "body", "nested 40000 levels deep",
        id="object-40k",),
    pytest.param(b"[" * 250_000, "body", "nested 250000 levels deep", id="unclosed-250k"),
    pytest.param(
        b'{"spreadsheet_id": "x", "tabs": ' + b"[" * 40 + b"]" * 40 + b"}", "body",
        f"at most {MAX_DEPTH}", id="tabs-40-deep",
    ),
    pytest.param(b'{"spreadsheet_id": "\xff\xfe"}', "body", "not UTF-8 (byte ",
                 id="invalid-utf8"),
    pytest.param(b'{"spreadsheet_id": "\xed\xa0\x80"}', "body", "not UTF-8", id="utf8-surrogate"),
    pytest.param(codecs.BOM_UTF16_LE + '{"spreadsheet_id": "x"}'.encode("utf-16-le"), "body",
                 "UTF-16 (byte-order mark)", id="utf16-bom"),
    pytest.param(codecs.BOM_UTF32_LE + '{"spreadsheet_id": "x"}'.encode("utf-32-le"), "body",
                 "UTF-32 (byte-order mark)", id="utf32-bom"),
    pytest.param('{"spreadsheet_id": "x"}'.encode("utf-16-le"), "body", "not JSON",
                 id="utf16-no-bom"),
    pytest.param(b'{"spreadsheet_id": "A", "spreadsheet_id": "B"}', "spreadsheet_id",
                 "given twice", id="duplicate-key"),
    pytest.param(b'{"spreadsheet_id": "A", "x": {"k": 1, "k": 2}}', "k", "given twice",
                 id="nested-duplicate-key"),
    pytest.param(b'{"spreadsheet_id": ' + b"9" * 5000 + b"}", "body", "not JSON",
                 id="5000-digit-integer"),
    pytest.param(b'{"spreadsheet_id": 1e999999}', "spreadsheet_id", "a number given",
                 id="infinite-number"),
    pytest.param(b'{"spreadsheet_id": NaN}', "spreadsheet_id", "a number given", id="nan"),
    pytest.param(b'{"spreadsheet_id": "a\x00b"}', "body", "not JSON", id="raw-nul"),
    pytest.param(b"", "body", "not JSON", id="empty"),
    pytest.param(b" " * 200_000, "body", "not JSON", id="200k-spaces"),
    pytest.param(b"\x00" * 1000, "body", "not JSON", id="nul-bytes"),
    pytest.param(b'"just a string"', "body", "expected a JSON object", id="a-string"),
    pytest.param(b"{" + b", ".join(b'"k%d": 1' % i for i in range(20_000)) + b"}", "k0",
                 "unknown field", id="20k-fields"),
]  # fmt: skip


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize(("body", "field", "says"), HOSTILE)
def test_a_hostile_body_is_400_naming_the_problem(app, path, body, field, says) -> None:
    if path == "/tasks/refresh":  # its only field is run_id
        body = body.replace(b'"spreadsheet_id"', b'"run_id"')
        field = "run_id" if field == "spreadsheet_id" else field
    response = post(app, path, body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    assert answer["field"] == field and says in answer["error"], answer
    assert len(response.get_data()) < 2000  # the body is named, never echoed
    no_traceback(app)


@pytest.mark.parametrize(
    ("body", "headers", "says"),
    [
        (b'{"spreadsheet_id": "x"}', {"Content-Type": "application/json; charset=latin-1"},
         "charset 'latin-1' is not accepted"),
        ('{"spreadsheet_id": "é"}'.encode("cp1252"), {"Content-Type": "text/plain; charset=cp1252"},
         "charset 'cp1252'"),
    ],
)  # fmt: skip
def test_a_charset_other_than_utf8_is_400(app, body, headers, says) -> None:
    response = post(app, "/hooks/refresh", body, **headers)
    assert response.status_code == 400 and says in response.get_json()["error"]


@pytest.mark.parametrize("how", ["token", "hmac"])
@pytest.mark.parametrize(
    "body",
    [
        codecs.BOM_UTF8 + b'{"spreadsheet_id": "not-registered"}',
        b'{"spreadsheet_id": "\\ud800 lone surrogate"}',
        b'{"spreadsheet_id": "\\u0000"}',
        '{"spreadsheet_id": "日本語のシート"}'.encode(),
        b'{"spreadsheet_id": "' + b"x" * 200_000 + b'"}',
        b'\n\t {"spreadsheet_id": "spaced"} \n',
    ],
    ids=["utf8-bom", "lone-surrogate", "nul-escape", "japanese", "200k-id", "whitespace"],
)
def test_an_odd_but_valid_body_gets_a_normal_answer(app, body, how) -> None:
    """UTF-8 JSON with a byte-order mark, escapes of any code point, any size under the cap:
    parsed, and answered as any unregistered spreadsheet is (404)."""
    for path in ("/hooks/refresh", "/hooks/pricing"):
        response = post(app, path, body, how)
        assert response.status_code == 404, response.get_data(as_text=True)[:300]
        assert "not registered" in response.get_json()["error"]
    no_traceback(app)


def test_a_valid_body_with_a_bom_and_charset_still_works(app) -> None:
    body = codecs.BOM_UTF8 + json.dumps({"spreadsheet_id": SHEET}).encode()
    utf8 = {"Content-Type": "application/json; charset=UTF-8"}
    assert post(app, "/hooks/refresh", body, "hmac", **utf8).status_code == 202


# --- a fuzz of raw bodies ------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(["spreadsheet_id", "tabs", "dry_run", "run_id", "request_id", SHEET])


def _nest(value: Any, depth: int, kind: str) -> bytes:
    text = json.dumps(value)
    return ("[" * depth + text + "]" * depth if kind == "list" else
            '{"a": ' * depth + text + "}" * depth).encode()  # fmt: skip


RAW_BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(alphabet=string.printable + "[]{}\"\\:,", max_size=300).map(str.encode),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(FIELDS, JSON_VALUES, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.tuples(JSON_VALUES, st.integers(0, 3000), st.sampled_from(["list", "object"])).map(
        lambda t: _nest(*t)
    ),
    st.tuples(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "utf-8-sig"]),
              st.dictionaries(FIELDS, JSON_VALUES, max_size=3)).map(
        lambda t: json.dumps(t[1], ensure_ascii=False).encode(t[0], errors="replace")
    ),
)  # fmt: skip
NEVER = {500, 502, 504}


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["token", "hmac"])
def test_no_raw_body_gets_a_500(app, how) -> None:
    @given(body=RAW_BODIES, path=st.sampled_from(BODY_ENDPOINTS))
    @settings(
        max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(body: bytes, path: str) -> None:
        response = post(app, path, body, how)
        assert response.status_code not in NEVER, (body[:200], response.get_data()[:300])
        assert (response.is_json and "error" in response.get_json()) or response.status_code < 300
        if response.status_code == 400:
            assert response.get_json()["field"].strip()  # a name to fix, even for a key ""

    check()
    no_traceback(app)


# --- a database without the schema ------------------------------------------------------------


@pytest.fixture
def empty_db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A reachable database with no table at all (never initialised)."""
    if db_kind == "sqlite":
        path = tmp_path / "empty.db"
        make_engine(f"sqlite:///{path}").connect().close()  # the file exists, empty
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_session_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


ENDPOINTS = [
    ("GET", f"/runs?spreadsheet_id={SHEET}", None),
    ("GET", f"/runs/{RUN}", None),
    ("GET", f"/alerts?spreadsheet_id={SHEET}", None),
    ("POST", "/hooks/refresh", {"spreadsheet_id": SHEET}),
    ("POST", "/hooks/pricing", {"spreadsheet_id": SHEET}),
    ("GET", "/cron/nightly", None),
    ("POST", "/tasks/refresh", {"run_id": RUN}),
]


def call(app: Any, method: str, target: str, body: dict[str, str] | None, how: str) -> Any:
    return ask(app, method, target, json.dumps(body).encode() if body else b"", how)


def assert_no_schema(app: Any, answer: Any) -> None:
    assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
    assert "`sheets-sync init-db`" in answer.get_json()["error"]
    assert answer.headers["Retry-After"] == "60"
    logged = app.config["LOG_STREAM"].getvalue()
    assert "database without the schema" in logged
    no_traceback(app)


@pytest.mark.parametrize(("method", "target", "body"), ENDPOINTS)
@pytest.mark.parametrize("how", ["token", "hmac", "local"])
def test_a_database_without_the_schema_is_503_naming_init_db(
    empty_db_url, certs, tmp_path, monkeypatch, method, target, body, how
) -> None:
    """Every endpoint, every kind of caller that may use it (a signed tool never pushes
    prices, nor starts the nightly run: those are the access rules' 403s)."""
    monkeypatch.setenv("GAE_ENV", "standard")
    if how == "hmac" and target == "/hooks/pricing":
        pytest.skip("a signed caller may not push prices (403 before the database)")
    more = {"auth": "disabled", "bind_host": "127.0.0.1"} if how == "local" else {}
    app = make(empty_db_url, certs, tmp_path, pricer=True, **more)
    try:
        assert_no_schema(app, call(app, method, target, body, how))
    finally:
        close(app)


@pytest.mark.parametrize(
    ("table", "method", "target", "body"),
    [
        ("alerts", "GET", f"/alerts?spreadsheet_id={SHEET}", None),
        ("sync_runs", "GET", f"/runs?spreadsheet_id={SHEET}", None),
        ("sync_runs", "POST", "/hooks/refresh", {"spreadsheet_id": SHEET}),
        ("hmac_nonces", "GET", f"/runs?spreadsheet_id={SHEET}", None),
    ],
)
def test_a_table_dropped_while_the_service_runs_is_503_naming_init_db(
    app, db_url, table, method, target, body
) -> None:
    """Found from the query's error (the service had seen the schema whole at start)."""
    assert call(app, method, target, body, "hmac").status_code in (200, 202)
    close(app)  # the refresh's run has ended before its table goes
    engine = make_engine(db_url)
    schema.metadata.tables[table].drop(engine)
    engine.dispose()
    assert_no_schema(app, call(app, method, target, body, "hmac"))
    engine = make_engine(db_url)
    db_init.init_db(engine)  # the administrator's fix; the service recovers by itself
    engine.dispose()
    assert call(app, method, target, body, "hmac").status_code in (200, 202)


def drop_trace_column(url: str) -> None:
    """The database as a version before ``price_changes.trace_id`` made it."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE price_changes DROP COLUMN trace_id"))
    engine.dispose()


def test_a_database_made_before_the_trace_column_is_503_until_init_db(
    db_url, certs, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("GAE_ENV", "standard")  # the queue's and cron's headers count
    drop_trace_column(db_url)
    engine = make_engine(db_url)
    with pytest.raises(db.SchemaError, match=r"no column\(s\) price_changes\.trace_id.*init-db"):
        db.require_schema(engine)
    app = make(db_url, certs, tmp_path, pricer=True)
    try:
        for method, target, body in ENDPOINTS:
            assert_no_schema(app, call(app, method, target, body, "token"))
        db_init.init_db(engine)
        assert call(app, *ENDPOINTS[0], "token").status_code == 200
    finally:
        close(app)
        engine.dispose()


def test_init_db_adds_the_trace_column_and_keeps_the_audit(db_url, runner) -> None:
    """`sheets-sync init-db` on a database made before ``price_changes.trace_id``."""
    drop_trace_column(db_url)
    engine = make_engine(db_url)
    row = {
        "seller_id": "S1", "product_id": "P1", "grade": "good", "country": "FR",
        "old_price": 100, "new_price": 110, "changed_by": "ana@tradein.example",
        "changed_at": dt.datetime(2026, 1, 1), "source": "sheet", "request_id": "push-1",
    }  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(schema.price_changes), [row])
    assert db.missing_columns(engine) == ["price_changes.trace_id"]
    for _ in range(2):  # idempotent
        result = runner.invoke(main, ["init-db", "--database-url", db_url])
        assert result.exit_code == 0, result.output
        assert db.missing_columns(engine) == []
    assert db_init.add_missing_columns(engine) == []
    db.require_schema(engine)
    columns = {c["name"]: c for c in inspect(engine).get_columns("price_changes")}
    assert columns["trace_id"]["nullable"] is True
    with engine.connect() as conn:
        kept = conn.execute(
            select(schema.price_changes.c.request_id, schema.price_changes.c.trace_id)
        )
        assert kept.all() == [("push-1", None)]
    engine.dispose()

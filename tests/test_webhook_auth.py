"""Webhook auth: real ID tokens, HMAC signatures, App Engine headers, disabled auth on loopback.

Tokens are RS256 JWTs signed by a key made here, whose certificate a tiny HTTP
server on loopback publishes as Google does; the production code fetches and
verifies them with google-auth, unmodified.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
import types
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from fixtures_webhook import (
    AUDIENCE,
    OTHER_PRIVATE_PEM,
    SECRET,
    CertsServer,
    bearer,
    token,
)
from flask import g, jsonify
from sqlalchemy import insert, select

from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError
from sheets_sync.nonces import NonceSweep
from sheets_sync.schema import hmac_nonces
from webhook import auth, create_app, runtime
from webhook.auth import requires_auth


def make_app(settings: Settings) -> Any:
    """An app from the real factory with three test views behind the real decorator."""
    app = create_app({"TESTING": True, "SETTINGS": settings})

    def who() -> Any:
        return jsonify(asdict(g.caller))

    app.add_url_rule("/t/default", "t_default", requires_auth()(who), methods=["GET", "POST"])
    app.add_url_rule("/t/cron", "t_cron", requires_auth("cron")(who))
    app.add_url_rule("/t/task", "t_task", requires_auth("task")(who), methods=["POST"])
    return app


@pytest.fixture
def settings(certs: CertsServer, db_url: str) -> Settings:
    certs.cache_control = "public, max-age=3600"
    return Settings.load(
        environ={},
        database_url=db_url,
        oidc_certs_url=certs.url,
        oidc_audiences=("other-audience", AUDIENCE),
        allowed_emails=("ana@partner.example",),
        allowed_domains=("tradein.example",),
        hmac_secret=SECRET,
    )


@pytest.fixture
def client(settings: Settings) -> Any:
    return make_app(settings).test_client()


# --- Google ID tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "email"),
    [
        ({}, "lea@tradein.example"),
        ({"iss": "accounts.google.com"}, "lea@tradein.example"),
        ({"email": "Ana@Partner.example"}, "ana@partner.example"),
        ({"aud": "other-audience"}, "lea@tradein.example"),
        ({"email_verified": "true"}, "lea@tradein.example"),
        ({"iat": 5}, "lea@tradein.example"),  # inside the 10 s skew
        ({"exp": -5}, "lea@tradein.example"),  # inside the 10 s skew
    ],
    ids=["domain", "bare-issuer", "listed-email", "second-audience", "string-verified",
         "iat-skew", "exp-skew"],
)  # fmt: skip
def test_a_valid_id_token_of_an_allowed_user_gets_in(client, changes, email):
    response = client.get("/t/default", headers=bearer(token(**changes)))
    assert response.status_code == 200
    assert response.get_json() == {"kind": "oidc", "email": email}


@pytest.mark.parametrize(
    "made",
    [
        pytest.param(lambda: token(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda: token(iss="https://evil.example"), id="wrong-issuer"),
        pytest.param(lambda: token(exp=-60), id="expired"),
        pytest.param(lambda: token(iat=60), id="not-yet-valid"),
        pytest.param(lambda: token(OTHER_PRIVATE_PEM), id="bad-signature"),
        pytest.param(lambda: token(key_id="unknown-key"), id="unknown-key"),
        pytest.param(lambda: token(email_verified=False), id="unverified-email"),
        pytest.param(lambda: token(email_verified=None), id="no-email-verified"),
        pytest.param(lambda: token(email=None), id="no-email"),
        pytest.param(lambda: token()[:-4] + "AAAA", id="tampered"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
    ],
)
def test_a_bad_id_token_is_401_without_detail(client, made, caplog):
    value = made()
    response = client.get("/t/default", headers=bearer(value))
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    assert value not in caplog.text and value not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "email", ["bob@elsewhere.example", "lea@sub.tradein.example", "ana@partner.example.org"]
)
def test_a_good_token_of_someone_not_allowed_is_403(client, email):
    response = client.get("/t/default", headers=bearer(token(email=email)))
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Bearer {token()} extra"},
        {"Authorization": f"Token {token()}"},
    ],
    ids=["missing", "empty", "no-token", "blank-token", "basic", "two-parts", "other-scheme"],
)
def test_missing_or_malformed_authorization_is_401(client, headers):
    response = client.get("/t/default", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}


def test_no_configured_audience_refuses_every_token(settings, caplog):
    client = make_app(settings.replace(oidc_audiences=())).test_client()
    assert "OIDC_AUDIENCES is empty" in caplog.text
    assert client.get("/t/default", headers=bearer(token())).status_code == 401


def test_certs_are_fetched_once_while_their_cache_control_allows(client, certs):
    before = certs.fetches
    for _ in range(3):
        assert client.get("/t/default", headers=bearer(token())).status_code == 200
    assert certs.fetches == before + 1


def test_certs_marked_no_store_are_fetched_every_time(client, certs):
    certs.cache_control = "no-store"
    before = certs.fetches
    for _ in range(2):
        assert client.get("/t/default", headers=bearer(token())).status_code == 200
    assert certs.fetches == before + 2


def test_unreachable_certs_are_503_not_401(settings):
    app = make_app(settings.replace(oidc_certs_url="http://127.0.0.1:9/certs"))
    response = app.test_client().get("/t/default", headers=bearer(token()))
    assert response.status_code == 503
    assert response.headers["Retry-After"]


# --- HMAC ------------------------------------------------------------------------------------


def signed(
    method: str, path: str, body: bytes, stamp: int | None = None, query: str = ""
) -> dict[str, str]:
    """Headers signing ``<t>.<METHOD>.<path>[?<query>].<body>``, written out here on purpose
    (not the service's own function), as a caller would."""
    t = int(time.time()) if stamp is None else stamp
    target = path + (f"?{query}" if query else "")
    message = f"{t}.{method}.{target}.".encode() + body
    digest = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"X-Signature": f"t={t},v1={digest}", "Content-Type": "application/json"}


BODY = b'{"spreadsheet_id": "1AbCdEfGhIjKlMnOp"}'


def test_a_good_signature_gets_in_once_and_its_replay_is_refused(client):
    headers = signed("POST", "/t/default", BODY)
    first = client.post("/t/default", data=BODY, headers=headers)
    assert first.status_code == 200
    assert first.get_json() == {"kind": "hmac", "email": None}
    replay = client.post("/t/default", data=BODY, headers=headers)
    assert replay.status_code == 401


def test_a_replay_is_refused_by_another_app_on_the_same_database(settings):
    headers = signed("POST", "/t/default", BODY)
    assert (
        make_app(settings).test_client().post("/t/default", data=BODY, headers=headers).status_code
        == 200
    )
    other = make_app(settings).test_client()
    assert other.post("/t/default", data=BODY, headers=headers).status_code == 401


def test_one_signature_sent_at_once_to_two_apps_gets_in_once(settings):
    """Twenty copies of one signed request at once, through two apps sharing the database."""
    headers = signed("POST", "/t/default", BODY)
    apps = [make_app(settings), make_app(settings)]
    barrier, statuses = threading.Barrier(20), []

    def send(app: Any) -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/t/default", data=BODY, headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(apps[i % 2],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 19


def nonces(settings: Settings) -> tuple[int, int]:
    """(expired, live) rows of ``hmac_nonces``."""
    engine = make_engine(settings.database.database_url)
    now = int(time.time())
    with engine.connect() as conn:
        expiries = conn.execute(select(hmac_nonces.c.expires_unix)).scalars().all()
    engine.dispose()
    return sum(e < now for e in expiries), sum(e >= now for e in expiries)


def add_expired(settings: Settings, count: int) -> None:
    engine = make_engine(settings.database.database_url)
    gone = int(time.time()) - 2
    rows = [{"digest": uuid.uuid4().bytes * 2, "expires_unix": gone} for _ in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(hmac_nonces), rows)
    engine.dispose()


def test_signatures_past_the_window_are_forgotten_at_most_every_sweep_interval(settings):
    app = make_app(settings)
    client = app.test_client()

    def post(n: int) -> tuple[int, dict[str, str]]:
        body = BODY + b" " * n  # another body, another signature
        headers = signed("POST", "/t/default", body)
        return client.post("/t/default", data=body, headers=headers).status_code, headers

    add_expired(settings, 3)
    first, first_headers = post(1)
    assert first == 200 and nonces(settings) == (0, 1)  # the process's first request sweeps
    add_expired(settings, 2)
    assert post(2)[0] == 200 and nonces(settings) == (2, 2)  # not again within the interval
    app.extensions["sheets_sync.nonce_ledger"].sweep = NonceSweep(interval=0)
    assert post(3)[0] == 200 and nonces(settings) == (0, 3)  # the interval has passed
    replay = client.post("/t/default", data=BODY + b" ", headers=first_headers)
    assert replay.status_code == 401  # a signature still in the window is never forgotten


def test_a_signature_is_forgotten_only_once_its_window_has_passed(settings):
    """A signature a minute old is still inside the 300 s window: a sweep keeps it, so its
    replay stays refused (forgetting it at its timestamp would let it in again)."""
    app = make_app(settings)
    client = app.test_client()
    minute_old = signed("POST", "/t/default", BODY, int(time.time()) - 60)
    assert client.post("/t/default", data=BODY, headers=minute_old).status_code == 200
    app.extensions["sheets_sync.nonce_ledger"].sweep = NonceSweep(interval=0)  # sweep every time
    fresh = signed("POST", "/t/default", BODY + b" ")
    assert client.post("/t/default", data=BODY + b" ", headers=fresh).status_code == 200  # swept
    assert nonces(settings) == (0, 2)  # neither was forgotten
    assert client.post("/t/default", data=BODY, headers=minute_old).status_code == 401


def test_a_signature_covers_the_query_string_as_sent(client):
    query = "spreadsheet_id=1AbCdEfGhIjKlMnOp&limit=5"
    headers = signed("GET", "/t/default", b"", query=query)
    assert client.get(f"/t/default?{query}", headers=headers).status_code == 200
    for other in (
        "spreadsheet_id=9ZyXwVuTsRqPoNmLk&limit=5",  # another spreadsheet
        "limit=5&spreadsheet_id=1AbCdEfGhIjKlMnOp",  # the same, re-ordered: not as signed
        "spreadsheet_id=1AbCdEfGhIjKlMnOp&limit=5&limit=50",  # a parameter added
        "",  # the query string dropped
    ):
        fresh = signed("GET", "/t/default", b"", query=query)  # a new signature each time
        url = f"/t/default?{other}" if other else "/t/default"
        assert client.get(url, headers=fresh).status_code == 401, other
    no_query = signed("GET", "/t/default", b"")
    assert client.get("/t/default?limit=5", headers=no_query).status_code == 401


def test_a_signed_list_of_runs_is_refused_for_another_spreadsheet(settings, tmp_path):
    """The issue's case: a signed GET /runs?spreadsheet_id=A replayed with B is refused."""
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(
        "spreadsheets:\n  - id: 1AbCdEfGhIjKlMnOpQrStUv\n    name: A\n"
        "  - id: 9ZyXwVuTsRqPoNmLkJiHgFe\n    name: B\n"
    )
    client = make_app(settings.replace(config_file=registry)).test_client()
    headers = signed("GET", "/runs", b"", query="spreadsheet_id=1AbCdEfGhIjKlMnOpQrStUv")
    assert (
        client.get("/runs?spreadsheet_id=9ZyXwVuTsRqPoNmLkJiHgFe", headers=headers).status_code
        == 401
    )
    answer = client.get("/runs?spreadsheet_id=1AbCdEfGhIjKlMnOpQrStUv", headers=headers)
    assert (answer.status_code, answer.get_json()) == (200, {"runs": []})
    replayed = client.get("/runs?spreadsheet_id=1AbCdEfGhIjKlMnOpQrStUv", headers=headers)
    assert replayed.status_code == 401


README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLE_SECRET = "example-secret-of-at-least-32-characters"


def readme_examples() -> list[tuple[str, str, bytes, str, str]]:
    """(method, target, body, signed string, X-Signature) of each row of the README's table."""
    text = README.read_text()
    section = text[text.index("### Signing a request (HMAC)") :]
    rows = re.findall(
        r"^\| `(GET|POST) ([^` ]+)`(?: with body `([^`]*)`)? \| `([^`]*)` \| `([^`]*)` \|$",
        section,
        re.MULTILINE,
    )
    return [
        (m, target, body.encode(), message, header) for m, target, body, message, header in rows
    ]


def test_the_readme_signing_example_is_what_the_service_checks(settings, tmp_path, monkeypatch):
    examples = readme_examples()
    assert [(m, t.split("?")[0]) for m, t, *_ in examples] == [
        ("GET", "/runs"),
        ("POST", "/hooks/refresh"),
    ]
    text = README.read_text()
    assert f"`{EXAMPLE_SECRET}` at `t=1767225600`" in text
    snippet = re.search(r"```python\n(import hashlib, hmac, time\n.*?)```", text, re.DOTALL)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)  # the README's own x_signature()
    namespace["time"] = types.SimpleNamespace(time=lambda: 1767225600)
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text(
        "spreadsheets:\n  - id: 1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789\n    name: A\n"
    )
    app = make_app(
        settings.replace(
            hmac_secret=EXAMPLE_SECRET,
            config_file=registry,
            sheets_api_url="http://127.0.0.1:9",  # nothing listens: the queued sync fails fast
            retry_deadline_seconds=1,
        )
    )
    stamp = 1767225600
    monkeypatch.setattr(
        auth, "time", types.SimpleNamespace(time=lambda: stamp, monotonic=time.monotonic)
    )
    for method, target, body, message, header in examples:
        path, _, query = target.partition("?")
        assert message.encode() == f"{stamp}.{method}.{target}.".encode() + body
        digest = hmac.new(EXAMPLE_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
        assert header == f"t={stamp},v1={digest}"
        assert namespace["x_signature"](EXAMPLE_SECRET, method, path, query, body) == header
        assert auth.signed_message(stamp, method, path, query.encode(), body) == message.encode()
        answer = app.test_client().open(
            target, method=method, data=body, headers={"X-Signature": header}
        )
        assert answer.status_code == (200 if method == "GET" else 202), answer.get_json()
    app.extensions[runtime.EXECUTOR_KEY].shutdown()  # the refresh's run, failed by now


@pytest.mark.parametrize(
    "made",
    [
        lambda: (signed("POST", "/t/default", BODY), BODY.replace(b"1AbC", b"9AbC")),
        lambda: (signed("POST", "/t/cron", BODY), BODY),
        lambda: (signed("GET", "/t/default", BODY), BODY),
        lambda: (signed("POST", "/t/default", BODY, int(time.time()) - 301), BODY),
        lambda: (signed("POST", "/t/default", BODY, int(time.time()) + 301), BODY),
        lambda: ({"X-Signature": "t=123"}, BODY),
        lambda: ({"X-Signature": "v1=" + "0" * 64}, BODY),
        lambda: ({"X-Signature": f"t={int(time.time())},v1=xyz"}, BODY),
    ],
    ids=["tampered-body", "wrong-path", "wrong-method", "too-old", "too-new",
         "no-digest", "no-time", "not-hex"],
)  # fmt: skip
def test_a_bad_signature_is_401_without_detail(client, made, caplog):
    headers, body = made()
    response = client.post("/t/default", data=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized"}
    assert headers["X-Signature"] not in caplog.text
    assert headers["X-Signature"].rpartition("v1=")[2] not in caplog.text


def test_signatures_are_refused_when_no_secret_is_set(settings):
    client = make_app(settings.replace(hmac_secret=None)).test_client()
    response = client.post("/t/default", data=BODY, headers=signed("POST", "/t/default", BODY))
    assert response.status_code == 401


# --- App Engine cron and task headers -------------------------------------------------------


@pytest.mark.parametrize("gae_env", ["standard", None])
def test_the_cron_header_is_trusted_only_on_app_engine(client, monkeypatch, gae_env):
    if gae_env:
        monkeypatch.setenv("GAE_ENV", gae_env)
    else:
        monkeypatch.delenv("GAE_ENV", raising=False)
    response = client.get("/t/cron", headers={"X-Appengine-Cron": "true"})
    if gae_env:
        assert response.status_code == 200
        assert response.get_json() == {"kind": "cron", "email": None}
    else:
        assert response.status_code == 401


QUEUE = "projects/p/locations/europe-west1/queues/refresh"


@pytest.mark.parametrize(
    ("gae_env", "queue", "header", "status"),
    [("standard", QUEUE, "refresh", 200), (None, QUEUE, "refresh", 401),
     ("standard", QUEUE, "default", 401), ("standard", None, "refresh", 401)],
    ids=["app-engine", "elsewhere", "another-queue", "no-queue-configured"],
)  # fmt: skip
def test_the_queue_header_is_trusted_only_on_app_engine_for_our_queue(
    settings, monkeypatch, gae_env, queue, header, status
):
    if gae_env:
        monkeypatch.setenv("GAE_ENV", gae_env)
    else:
        monkeypatch.delenv("GAE_ENV", raising=False)
    client = make_app(settings.replace(tasks_queue=queue)).test_client()
    response = client.post("/t/task", headers={"X-AppEngine-QueueName": header})
    assert response.status_code == status
    if status == 200:
        assert response.get_json() == {"kind": "task", "email": None}


def test_platform_headers_do_not_open_ordinary_endpoints(client, monkeypatch):
    monkeypatch.setenv("GAE_ENV", "standard")
    headers = {"X-Appengine-Cron": "true", "X-AppEngine-QueueName": "refresh"}
    assert client.get("/t/default", headers=headers).status_code == 401


def test_a_user_token_does_not_open_a_cron_only_endpoint(client):
    assert client.get("/t/cron", headers=bearer(token())).status_code == 401


# --- disabled auth ---------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_disabled_auth_on_loopback_lets_everyone_in_loudly(settings, host, caplog):
    client = make_app(settings.replace(auth="disabled", bind_host=host)).test_client()
    assert "AUTHENTICATION IS DISABLED" in caplog.text
    response = client.get("/t/default")
    assert response.get_json() == {"kind": "local", "email": None}
    assert client.get("/t/cron").status_code == 401  # the platform's endpoints stay closed


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "", None])
def test_disabled_auth_off_loopback_refuses_to_start(settings, host):
    with pytest.raises(ConfigError, match=r"SHEETS_SYNC_AUTH=disabled is refused.*127\.0\.0\.1"):
        make_app(settings.replace(auth="disabled", bind_host=host))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SHEETS_SYNC_AUTH", "off", r"SHEETS_SYNC_AUTH='off' must be enabled or disabled"),
        ("SHEETS_SYNC_HMAC_SECRET", "short", r"SHEETS_SYNC_HMAC_SECRET is 5 characters"),
        ("SHEETS_SYNC_OIDC_CERTS_URL", "ftp://x", r"SHEETS_SYNC_OIDC_CERTS_URL='ftp://x'"),
        ("SHEETS_SYNC_ALLOWED_EMAILS", "a@b.example,bob", r"ALLOWED_EMAILS: 'bob' is not an email"),
        ("SHEETS_SYNC_ALLOWED_DOMAINS", "@b.example", r"ALLOWED_DOMAINS: '@b.example' is not a"),
    ],
)  # fmt: skip
def test_bad_auth_settings_name_the_variable(variable, value, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ={variable: value})


def test_comma_lists_are_read_from_the_environment():
    settings = Settings.load(
        environ={
            "SHEETS_SYNC_OIDC_AUDIENCES": " a.apps.googleusercontent.com, b ,",
            "SHEETS_SYNC_ALLOWED_DOMAINS": "tradein.example",
        }
    )
    assert settings.webhook.oidc_audiences == ("a.apps.googleusercontent.com", "b")
    assert settings.webhook.allowed_domains == ("tradein.example",)


def test_the_secret_is_not_in_the_settings_repr():
    assert SECRET not in repr(Settings.load(environ={}, hmac_secret=SECRET))

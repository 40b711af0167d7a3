"""The OpenAPI document: served by the app, in step with its routes, and fuzzed for 500s.

The document (webhook/openapi.yaml) is what client authors read; a route
missing from it, or a documented one the app does not serve, is a bug either
way. A bounded schemathesis run then sends generated requests — authenticated
with a real ID token, so they reach the endpoints' own validation — and
checks that none is answered with a 500 and every answer matches the document.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from fixtures_webhook import SECRET, CertsServer, bearer, service_settings, token
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from werkzeug.wrappers import Request

from webhook import create_app, runtime
from webhook.jobs_api import REFRESH_BODY
from webhook.pricing_api import PRICING_BODY
from webhook.runtime import ENGINE_KEY
from webhook.tasks_api import TASK_BODY

UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}
QUEUE = "projects/tradein-ops/locations/europe-west1/queues/sheets-refresh"
SEMANTIC = [checks.positive_data_acceptance, checks.ignored_auth]
"""Not checked here: a schema-valid body may rightly be refused (an id must be registered, a
tab in the sheet's scope), and every request carries a valid token on purpose (auth's own
accept/refuse cases are tests/test_webhook_auth.py and test_webhook_endpoints.py)."""


@pytest.fixture
def app(db_url: str, certs: CertsServer, tmp_path: Path) -> Iterator[Any]:
    registry = tmp_path / "sheets-sync.yaml"
    registry.write_text("spreadsheets:\n  - id: 1AbCdEfGhIjKlMnOpQrStUv\n    name: Ops team\n")
    config = service_settings(
        db_url,
        certs,
        registry,
        sheets_api_url="http://127.0.0.1:9",  # nothing listens: a queued sync fails fast
        retry_deadline_seconds=1,
        hmac_secret=SECRET,
    )
    app = create_app({"TESTING": True, "SETTINGS": config, "LOG_STREAM": io.StringIO()})
    yield app
    pool = app.extensions.get(runtime.EXECUTOR_KEY)
    if pool is not None:
        pool.shutdown()
    app.extensions[ENGINE_KEY].dispose()


def document(app: Any) -> dict[str, Any]:
    response = app.test_client().get("/openapi.yaml")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    return dict(yaml.safe_load(response.get_data(as_text=True)))


def test_the_document_is_served_without_auth_and_is_openapi_3(app) -> None:
    spec = document(app)
    assert spec["openapi"].startswith("3.")
    assert spec["paths"]["/healthz"]["get"]["security"] == []


def routes(app: Any) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        found |= {(path, m) for m in (rule.methods or set()) - UNDOCUMENTED_METHODS}
    return found


def test_every_route_is_documented_and_every_documented_route_exists(app) -> None:
    spec = document(app)
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    assert routes(app) == documented


@pytest.mark.parametrize(
    ("schema_name", "fields"),
    [
        ("RefreshRequest", REFRESH_BODY),
        ("PricingRequest", PRICING_BODY),
        ("TaskRequest", TASK_BODY),
    ],
)
def test_the_documented_bodies_are_the_ones_the_endpoints_validate(
    app, schema_name, fields
) -> None:
    schema = document(app)["components"]["schemas"][schema_name]
    assert set(schema["properties"]) == set(fields)
    assert set(schema["required"]) == {name for name, f in fields.items() if f.required}
    assert schema["additionalProperties"] is False


class SignedBy:
    """WSGI middleware signing each request as an HMAC caller does: ``X-Signature`` over
    ``<t>.<METHOD>.<path>[?<query string as sent>].<raw body>``, computed here from what the
    request carries; a request already signed at ``t`` (schemathesis repeats some) is signed
    a second earlier, so no signature is sent twice."""

    def __init__(self, app: Any, secret: str) -> None:
        self.app, self.secret = app, secret
        self.signed: set[bytes] = set()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = Request(environ)
        target = request.path.encode() + (
            b"?" + request.query_string if request.query_string else b""
        )
        stamp = int(time.time())
        while (
            message := f"{stamp}.{request.method}.".encode() + target + b"." + body
        ) in self.signed:
            stamp -= 1
        self.signed.add(message)
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        environ["HTTP_X_SIGNATURE"] = f"t={stamp},v1={digest}"
        environ.pop("HTTP_AUTHORIZATION", None)  # schemathesis adds its own tries at a token
        return self.app(environ, start_response)


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("caller", ["id-token", "hmac"])
def test_no_generated_request_gets_a_500(app, caller) -> None:
    """Every operation with generated parameters and bodies, sent by a person (a real ID
    token) or by a signed tool (each request really signed, query string and body as sent)."""
    if caller == "hmac":
        target, headers = SignedBy(app, SECRET), {}
    else:
        target, headers = app, bearer(token())
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", target)
    answered: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            assert response.status_code != 500, f"{case.method} {case.path}: {response.text}"
            case.validate_response(response, excluded_checks=SEMANTIC)
            answered.setdefault(case.path, set()).add(response.status_code)

        check()
    refused = {path for path, statuses in answered.items() if 401 in statuses}
    assert refused <= {"/tasks/refresh"}, answered  # the credentials got every request in


@pytest.mark.parametrize("db_kind", ["sqlite"], indirect=True)
def test_no_generated_task_delivery_gets_a_500(app, monkeypatch) -> None:
    """The task endpoint fuzzed as the queue calls it (on App Engine, with its header)."""
    monkeypatch.setenv("GAE_ENV", "standard")
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(tasks_queue=QUEUE)
    schema = schemathesis.openapi.from_wsgi("/openapi.yaml", app)
    headers = {"X-AppEngine-QueueName": QUEUE.rsplit("/", 1)[1]}
    (operation,) = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path == "/tasks/refresh"
    ]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code in {200, 400}, f"{case.body!r}: {response.text}"
        case.validate_response(response, excluded_checks=SEMANTIC)

    check()

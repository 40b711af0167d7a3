"""Secrets as Secret Manager references (sheets_sync/secrets.py), read once at settings load.

Google ships no Secret Manager emulator. What runs here: Google's
``google-cloud-secret-manager`` client, unmodified, over real gRPC to a
stand-in on loopback that serves the one RPC the service uses
(``AccessSecretVersion``) as Google documents it — ``latest`` is the newest
enabled version, the payload comes with its CRC32C, and an unknown secret,
a denied one or a disabled version get NOT_FOUND, PERMISSION_DENIED or
FAILED_PRECONDITION. The client is injected into ``Settings.load`` the way
gspread takes a session. Not tested against Google itself: the default client
with real credentials (only its "no credentials" path, which needs none).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from sheets_sync import secrets
from sheets_sync.cli import main
from sheets_sync.config import Settings
from sheets_sync.db import make_engine
from sheets_sync.errors import ConfigError

PROJECT = "tradein-ops"
HMAC = "h" * 48
SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"


@dataclass
class SecretStore:
    """The stand-in's secrets: name → versions (1-based; None = disabled) and access rules."""

    versions: dict[str, list[bytes | None]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def access(self, request: sm.AccessSecretVersionRequest, context: Any) -> Any:
        self.calls.append(request.name)
        _, project, _, secret, _, version = request.name.split("/")
        if secret in self.denied:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, f"Permission denied on {secret}")
        found = self.versions.get(secret) if project == PROJECT else None
        enabled = [i for i, data in enumerate(found or [], 1) if data is not None]
        number = (
            enabled[-1]
            if version == "latest" and enabled
            else int(version)
            if version.isdigit()
            else 0
        )
        if not found or number > len(found) or number < 1:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Secret [{request.name}] not found")
        data = found[number - 1]
        if data is None:
            context.abort(
                grpc.StatusCode.FAILED_PRECONDITION, f"{request.name} is in DISABLED state"
            )
        crc = secrets.crc32c(data) ^ (1 if secret in self.corrupt else 0)
        name = f"projects/{project}/secrets/{secret}/versions/{number}"
        return sm.AccessSecretVersionResponse(
            name=name, payload=sm.SecretPayload(data=data, data_crc32c=crc)
        )


@pytest.fixture(scope="module")
def store_and_client() -> Iterator[tuple[SecretStore, Any]]:
    store = SecretStore()
    handler = grpc.unary_unary_rpc_method_handler(
        store.access,
        request_deserializer=sm.AccessSecretVersionRequest.deserialize,
        response_serializer=sm.AccessSecretVersionResponse.serialize,
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(SERVICE, {"AccessSecretVersion": handler})]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    client = sm.SecretManagerServiceClient(
        transport=SecretManagerServiceGrpcTransport(channel=channel)
    )
    yield store, client
    channel.close()
    server.stop(grace=0)


@pytest.fixture
def store(store_and_client: tuple[SecretStore, Any], tmp_path: Path) -> SecretStore:
    store = store_and_client[0]
    store.versions = {
        "hmac": [b"old" * 11, HMAC.encode() + b"\n"],
        "slack": [b"https://hooks.slack.example/services/T0/B0/xyz"],
        "smtp": [b"p\xc3\xa4ss word"],
        "db": [f"sqlite:///{tmp_path / 'from-secret.db'}".encode()],
        "gone": [b"x" * 40, None],
        "binary": [b"\xff\xfe"],
    }
    store.denied, store.corrupt, store.calls = {"denied"}, {"corrupt"}, []
    return store


@pytest.fixture
def client(store_and_client: tuple[SecretStore, Any]) -> Any:
    return store_and_client[1]


def ref(secret: str, version: str | None = "latest") -> str:
    tail = f"/versions/{version}" if version else ""
    return f"sm://projects/{PROJECT}/secrets/{secret}{tail}"


def test_every_secret_setting_may_be_a_reference(store, client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    env = {
        "SHEETS_SYNC_HMAC_SECRET": ref("hmac"),
        "SHEETS_SYNC_SLACK_WEBHOOK_URL": ref("slack", None),
        "SHEETS_SYNC_SMTP_PASSWORD": ref("smtp", "1"),
        "SHEETS_SYNC_DATABASE_URL": ref("db"),
    }
    settings = Settings.load(environ=env, secrets_client=client)
    assert settings.webhook.hmac_secret == HMAC  # the newest version, its trailing newline dropped
    assert settings.alerts.slack_webhook_url == "https://hooks.slack.example/services/T0/B0/xyz"
    assert settings.alerts.smtp_password == "päss word"
    assert (
        settings.database.database_url.startswith("sqlite:///")
        and "from-secret" in settings.database.database_url
    )
    make_engine(settings.database.database_url).dispose()  # a usable URL
    assert sorted(store.calls) == sorted(
        f"projects/{PROJECT}/secrets/{name}/versions/{v}"
        for name, v in (("hmac", "latest"), ("slack", "latest"), ("smtp", "1"), ("db", "latest"))
    )  # one read each, at load
    for value in (HMAC, "päss word", "xyz"):
        assert value not in repr(settings) and value not in caplog.text


def test_an_override_may_be_a_reference_too(store, client) -> None:
    settings = Settings.load(environ={}, secrets_client=client, hmac_secret=ref("hmac", "2"))
    assert settings.webhook.hmac_secret == HMAC


def test_a_resolved_secret_is_validated_like_a_plain_one(store, client) -> None:
    store.versions["short"] = [b"too short"]
    with pytest.raises(ConfigError, match="SHEETS_SYNC_HMAC_SECRET is 9 characters"):
        Settings.load(environ={"SHEETS_SYNC_HMAC_SECRET": ref("short")}, secrets_client=client)


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        (ref("nope"), "no such secret or version; check the name with 'gcloud secrets versions"),
        (ref("hmac", "7"), "no such secret or version"),
        (ref("denied"), "grant it roles/secretmanager.secretAccessor on the secret"),
        (ref("gone", "2"), "the version is disabled or destroyed"),
        (ref("corrupt"), "arrived corrupted (CRC32C mismatch); retry"),
        (ref("binary"), "is not UTF-8 text"),
    ],
    ids=["unknown", "unknown-version", "denied", "disabled", "corrupt", "binary"],
)
def test_a_secret_that_cannot_be_read_is_one_line_naming_the_variable_and_fix(
    store, client, reference, says
) -> None:
    store.versions["corrupt"] = [b"x" * 40]
    with pytest.raises(ConfigError) as caught:
        Settings.load(environ={"SHEETS_SYNC_HMAC_SECRET": reference}, secrets_client=client)
    message = str(caught.value)
    assert message.startswith("SHEETS_SYNC_HMAC_SECRET") and says in message
    assert "\n" not in message and "x" * 40 not in message


@pytest.mark.parametrize(
    "reference",
    ["sm://", "sm://hmac", "sm://projects/p/secrets/", "sm://projects/p/secrets/a/versions/0",
     "sm://projects/p/secrets/a/versions/newest", "sm://projects/P Q/secrets/a",
     "sm://projects/p/secrets/a/b"],
)  # fmt: skip
def test_a_malformed_reference_is_refused_before_any_call(store, client, reference) -> None:
    with pytest.raises(
        ConfigError,
        match=r"SHEETS_SYNC_SMTP_PASSWORD is not a valid Secret Manager reference; write sm://projects/PROJECT_ID/secrets/NAME/versions/latest",
    ):
        Settings.load(environ={"SHEETS_SYNC_SMTP_PASSWORD": reference}, secrets_client=client)
    assert store.calls == []


def test_other_settings_are_never_read_as_references(store, client) -> None:
    settings = Settings.load(environ={"SHEETS_SYNC_SMTP_USER": ref("smtp")}, secrets_client=client)
    assert settings.alerts.smtp_user == ref("smtp") and store.calls == []


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter with no Google credentials and no metadata server to ask."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SHEETS_SYNC_", "GOOGLE_"))}
    base.update(
        NO_GCE_CHECK="True",  # google-auth must not probe the metadata server off loopback
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        PYTHONWARNINGS="ignore",
        **env,
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=60
    )


def test_without_a_reference_the_client_library_is_not_even_imported(tmp_path) -> None:
    code = (
        "import sys\nfrom sheets_sync.config import Settings\n"
        "Settings.load()\nprint(sorted(m for m in sys.modules if 'secretmanager' in m))"
    )
    done = run_python(code, tmp_path, SHEETS_SYNC_HMAC_SECRET=HMAC)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_without_google_credentials_the_error_says_how_to_get_them(tmp_path) -> None:
    code = "from sheets_sync.config import Settings\nSettings.load()"
    done = run_python(code, tmp_path, SHEETS_SYNC_HMAC_SECRET=ref("hmac"))
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "SHEETS_SYNC_HMAC_SECRET is a Secret Manager reference but no Google credentials" in last
    assert "gcloud auth application-default login" in last


def test_the_cli_says_the_error_in_one_line(runner) -> None:
    env = {"SHEETS_SYNC_HMAC_SECRET": "sm://projects/p/secrets/"}
    result = runner.invoke(main, ["init-db"], env=env)
    assert result.exit_code != 0
    assert "SHEETS_SYNC_HMAC_SECRET is not a valid Secret Manager reference" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("data", "crc"),
    [(b"", 0), (b"123456789", 0xE3069283), (b"a", 0xC1D04330)],
)
def test_crc32c_matches_the_castagnoli_check_values(data, crc) -> None:
    assert secrets.crc32c(data) == crc

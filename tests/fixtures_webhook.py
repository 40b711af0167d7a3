"""Google-like ID tokens for the webhook's tests: a local signing key, its certificate
served on loopback as Google's v1 certs endpoint, and helpers that mint tokens.

The production code fetches these certificates and verifies the tokens with
google-auth, unmodified; only the key is ours.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt
from helpers import TEMPLATES

from sheets_sync.config import Settings
from webhook import runtime

AUDIENCE = "1234-apps-script.apps.googleusercontent.com"
SECRET = "s" * 40
KEY_ID = "test-key-1"


def _key_and_cert() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-certs")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, cert.public_bytes(serialization.Encoding.PEM)


PRIVATE_PEM, CERT_PEM = _key_and_cert()
OTHER_PRIVATE_PEM, _ = _key_and_cert()


class CertsServer:
    """Serves ``{kid: PEM certificate}`` like Google's v1 certs endpoint, counting fetches."""

    def __init__(self) -> None:
        self.cache_control = "public, max-age=3600"
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                body = json.dumps({KEY_ID: CERT_PEM.decode()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", owner.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oauth2/v1/certs"


@pytest.fixture(scope="module")
def certs() -> Iterator[CertsServer]:
    server = CertsServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def token(private_pem: bytes = PRIVATE_PEM, key_id: str = KEY_ID, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "sub": "1234567890",
        "email": "lea@tradein.example",
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    }
    for name in ("iat", "exp"):  # an int offset from now, so a parameter never goes stale
        if isinstance(changes.get(name), int):
            changes[name] = now + changes[name]
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    signer = crypt.RSASigner.from_string(private_pem, key_id=key_id)
    return jwt.encode(signer, claims).decode()


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def service_settings(db_url: str, certs: CertsServer, registry: Path, **more: Any) -> Settings:
    """A webhook's settings under test: our certs and audience, the team's domain allowed.

    Callers add what their test is about (the Sheets API address, HMAC, lock waits, ...).
    """
    return Settings.load(
        environ={},
        database_url=db_url,
        templates_dir=TEMPLATES,
        config_file=registry,
        oidc_certs_url=certs.url,
        oidc_audiences=(AUDIENCE,),
        allowed_domains=("tradein.example",),
        **more,
    )


def finish_runs(app: Any) -> None:
    """Wait for the runs this app started (the executor's threads end with the process)."""
    pool = app.extensions.get(runtime.EXECUTOR_KEY)
    if pool is not None:
        pool.shutdown()
        del app.extensions[runtime.EXECUTOR_KEY]

"""Who is calling: Google ID tokens, HMAC signatures, App Engine cron and tasks (docs/design.md §8).

:func:`requires_auth` guards a view: it finds the caller's credentials,
verifies them, and stores the :class:`Caller` in ``flask.g.caller``. Answers
carry no detail an attacker could use ("unauthorized" / "forbidden"); the
reason goes to the log, never the token or the signature themselves.

- **OIDC**: ``Authorization: Bearer <Google ID token>`` (Apps Script's
  ``ScriptApp.getIdentityToken()``, Cloud Scheduler). google-auth verifies the
  signature against the certs at ``SHEETS_SYNC_OIDC_CERTS_URL`` (cached as
  their ``Cache-Control`` allows), expiry with :data:`CLOCK_SKEW_SECONDS`, and
  the audience, always: no configured audience refuses every token. We then
  check the issuer, ``email_verified`` and the allowlists (403 when the token
  is good but its owner is not allowed).
- **HMAC**: ``X-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.METHOD.path[?query].body">``
  when ``SHEETS_SYNC_HMAC_SECRET`` is set (:func:`signed_message`: the whole
  request — method, path, the query string as sent, the raw body);
  ±:data:`HMAC_WINDOW_SECONDS`, compared in constant time, and each signature
  accepted once: it is remembered in the ``hmac_nonces`` table
  (:mod:`sheets_sync.nonces`: its primary key refuses a second; concurrent
  requests of a process are recorded in one transaction) until it leaves the
  window — ``t`` + 300 s, not ``t``: a signature stays replayable that long — so
  a replay is refused by every process and instance sharing the database.
- **cron** / **task**: ``X-Appengine-Cron: true`` / ``X-AppEngine-QueueName``
  are trusted only on App Engine (``GAE_ENV`` set), which strips them from
  outside requests; elsewhere they are ignored, like no credentials at all.
  Where ``cron`` is accepted, an ID token of an account listed in
  ``SHEETS_SYNC_CRON_CALLERS`` (Cloud Scheduler's) is the scheduler too.
  The queue header must name ``SHEETS_SYNC_TASKS_QUEUE``; off App Engine a task
  proves itself with its OIDC token, admitted for the tasks service account only.
- **local**: ``SHEETS_SYNC_AUTH=disabled`` lets in, without credentials, only
  requests whose peer — the address the WSGI server saw, ``REMOTE_ADDR``, never a
  header — is loopback; every other request is refused 403 before any view
  (:func:`loopback_peers_only`), whatever server runs the app and whatever it
  was told about its bind address, and so is a request a proxy says it
  forwarded (``X-Forwarded-For`` / ``Forwarded``: a tunnel or proxy on this
  machine would make every caller look local). :func:`init_app` also refuses to
  start unless ``Settings.webhook.bind_host`` (set by ``sheets-sync serve``) is loopback.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import google.auth.exceptions
import google.auth.transport.requests
from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from google.oauth2 import id_token

from sheets_sync import nonces
from sheets_sync.config import Settings
from sheets_sync.config.env import ENV_PREFIX
from sheets_sync.config.service import is_loopback
from sheets_sync.errors import ConfigError
from webhook import runtime
from webhook.certs import CachedCertsRequest
from webhook.loopback import FORWARDED_HEADERS, local_request

log = logging.getLogger(__name__)

KINDS = ("oidc", "hmac", "cron", "task", "local")
DEFAULT_KINDS = ("oidc", "hmac", "local")
"""What a view accepts when :func:`requires_auth` names no kind: people and tools, not the platform."""
ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 10
HMAC_WINDOW_SECONDS = 300
"""A certs server that hangs costs a caller this long, not google-auth's default 120 s."""
_SIGNATURE = re.compile(r"^t=(\d{1,12}),v1=([0-9a-fA-F]{64})$")

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class Caller:
    """The authenticated caller; ``email`` is the verified address (OIDC only)."""

    kind: str  # "oidc" | "hmac" | "cron" | "task" | "local"
    email: str | None


class Refused(Exception):
    """Authentication failed; ``status`` is 401 or 403, ``reason`` is for the log only."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def requires_auth(*kinds: str) -> Callable[[View], View]:
    """Guard a view: only callers of ``kinds`` (default :data:`DEFAULT_KINDS`) get in."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown caller kind(s) {sorted(unknown)}; use some of {KINDS}")
    accepted = kinds or DEFAULT_KINDS

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            try:
                g.caller = authenticate(accepted)
            except Refused as refused:
                log.warning("request refused (%s): %s", refused.status, refused.reason)
                return _refusal(refused.status)
            except google.auth.exceptions.TransportError:
                log.exception(
                    "cannot fetch the ID-token certs from %s",
                    runtime.settings().webhook.oidc_certs_url,
                )
                return jsonify(error="authentication unavailable"), 503, {"Retry-After": "30"}
            return view(*args, **kwargs)

        return cast(View, guarded)

    return decorate


def _refusal(status: int) -> ResponseReturnValue:
    error = "unauthorized" if status == 401 else "forbidden"
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return jsonify(error=error), status, headers


def authenticate(kinds: tuple[str, ...]) -> Caller:
    """The caller of the current request, or :class:`Refused`."""
    settings = runtime.settings()
    if settings.webhook.auth == "disabled" and not local_request():
        raise Refused(403, "authentication is disabled and the request is not from loopback")
    if "local" in kinds and auth_disabled(settings):
        return Caller("local", None)
    on_app_engine = bool(os.environ.get("GAE_ENV"))
    if "cron" in kinds and on_app_engine and request.headers.get("X-Appengine-Cron") == "true":
        return Caller("cron", None)
    if "task" in kinds:
        task = _task_caller(settings, on_app_engine)
        if task is not None:
            return task
    authorization = request.headers.get("Authorization")
    if authorization is not None and "oidc" in kinds:
        return _oidc_caller(authorization, settings, scheduler="cron" in kinds)
    signature = request.headers.get("X-Signature")
    if signature is not None and "hmac" in kinds and settings.webhook.hmac_secret:
        return _hmac_caller(signature, settings.webhook.hmac_secret)
    raise Refused(401, "no credentials this endpoint accepts")


# --- Google ID tokens ----------------------------------------------------------------------


def _oidc_caller(authorization: str, settings: Settings, scheduler: bool = False) -> Caller:
    """A person (kind ``oidc``, checked against the allowlists); on an endpoint accepting
    ``cron``, an account of ``SHEETS_SYNC_CRON_CALLERS`` is the scheduler (kind ``cron``)."""
    if not settings.webhook.oidc_audiences:
        raise Refused(401, f"{ENV_PREFIX}OIDC_AUDIENCES is empty: every ID token is refused")
    claims = _verified_claims(authorization, settings.webhook.oidc_audiences, settings)
    callers = tuple(e.lower() for e in settings.webhook.cron_callers)
    if scheduler and str(claims.get("email", "")).lower() in callers:
        return Caller("cron", _allowed_email(claims, callers, ()))
    return Caller(
        "oidc",
        _allowed_email(claims, settings.webhook.allowed_emails, settings.webhook.allowed_domains),
    )


def _verified_claims(
    authorization: str, audiences: tuple[str, ...], settings: Settings
) -> dict[str, Any] | Any:
    """The claims of a ``Bearer`` Google ID token for one of ``audiences``, or :class:`Refused`."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise Refused(401, "Authorization header is not 'Bearer <token>'")
    try:
        return id_token.verify_token(
            token.strip(),
            _certs_request(),
            audience=list(audiences),
            certs_url=settings.webhook.oidc_certs_url,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except google.auth.exceptions.TransportError:
        raise
    except (ValueError, google.auth.exceptions.GoogleAuthError) as error:
        raise Refused(401, f"ID token rejected: {_scrubbed(error)}") from None


def _allowed_email(
    claims: dict[str, Any] | Any, emails: tuple[str, ...], domains: tuple[str, ...]
) -> str:
    if claims.get("iss") not in ISSUERS:
        raise Refused(401, "ID token issuer is not Google")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Refused(401, "ID token carries no email")
    if claims.get("email_verified") not in (True, "true"):
        raise Refused(401, "ID token email is not verified")
    email = email.lower()
    allowed = {e.lower() for e in emails}
    if email not in allowed and email.rpartition("@")[2] not in {d.lower() for d in domains}:
        raise Refused(403, f"{email} is not in the allowed emails or domains")
    return email


# --- Cloud Tasks ---------------------------------------------------------------------------


def _task_caller(settings: Settings, on_app_engine: bool) -> Caller | None:
    """The queue of ``SHEETS_SYNC_TASKS_QUEUE`` delivering a task, None when nothing says so.

    On App Engine its ``X-AppEngine-QueueName`` (App Engine strips the header from
    outside requests; it gives the short name, an emulator the full path).
    Elsewhere the task's OIDC token: a Google ID token for the tasks audience of
    exactly ``SHEETS_SYNC_TASKS_SERVICE_ACCOUNT`` — no person, however allowed.
    """
    queue = request.headers.get("X-AppEngine-QueueName")
    if queue is not None and on_app_engine and settings.tasks.tasks_queue:
        if queue not in (settings.tasks.tasks_queue, settings.tasks.task_queue_name):
            raise Refused(401, "X-AppEngine-QueueName names another queue")
        return Caller("task", None)
    authorization = request.headers.get("Authorization")
    account, audience = settings.tasks.tasks_service_account, settings.tasks.task_audience
    if authorization is None or not (settings.tasks.tasks_queue and account and audience):
        return None
    claims = _verified_claims(authorization, (audience,), settings)
    return Caller("task", _allowed_email(claims, (account,), ()))


_QUOTED_OR_LONG = re.compile(r"""b?'[^']*'|b?"[^"]*"|[A-Za-z0-9_\-.]{24,}""")


def _scrubbed(error: Exception) -> str:
    """The library's reason without anything it quotes (it may quote the token itself)."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return _QUOTED_OR_LONG.sub("…", text)[:160]


_CERTS_REQUEST_KEY = "sheets_sync.certs_request"


def _certs_request() -> CachedCertsRequest:
    return cast(CachedCertsRequest, _app_singleton(_CERTS_REQUEST_KEY, CachedCertsRequest))


def _app_singleton(key: str, make: Callable[[], object]) -> object:
    """``app.extensions[key]``, made once (``setdefault`` alone would build one per request)."""
    found = current_app.extensions.get(key)
    return found if found is not None else current_app.extensions.setdefault(key, make())


# --- HMAC signatures -------------------------------------------------------------------------


def _hmac_caller(header: str, secret: str) -> Caller:
    match = _SIGNATURE.match(header.strip())
    if not match:
        raise Refused(401, "X-Signature is not 't=<unix seconds>,v1=<64 hex digits>'")
    stamp, given = int(match.group(1)), match.group(2).lower()
    now = time.time()
    if abs(now - stamp) > HMAC_WINDOW_SECONDS:
        raise Refused(401, f"X-Signature timestamp is {int(now - stamp)} s off")
    message = signed_message(
        stamp, request.method, request.path, request.query_string, request.get_data()
    )
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        raise Refused(401, "X-Signature does not match the request")
    # Kept until the window has passed for it (t + 300 s), not until t: a signature
    # forgotten sooner could be replayed while its timestamp is still accepted.
    _remember_once(given, stamp + HMAC_WINDOW_SECONDS)
    return Caller("hmac", None)


def signed_message(stamp: int, method: str, path: str, query: bytes, body: bytes) -> bytes:
    """What an ``X-Signature`` signs: ``<t>.<METHOD>.<path>[?<query>].<raw body>``.

    ``query`` is the query string as sent (the bytes after ``?``, not decoded or
    re-ordered), and the ``?`` is there only when it is not empty, so a request
    without one signs what it signed before query strings were covered.
    """
    target = path.encode() + (b"?" + query if query else b"")
    return f"{stamp}.{method}.".encode() + target + b"." + body


def _remember_once(signature: str, expires_unix: int) -> None:
    """Refuse a signature already accepted (a replay); now and then forget expired ones."""
    if not _nonce_ledger().remember_once(signature, expires_unix):
        raise Refused(401, "X-Signature was already used (replay)")


_NONCE_LEDGER_KEY = "sheets_sync.nonce_ledger"


def _nonce_ledger() -> nonces.NonceLedger:
    """The process's ledger: its requests' signatures are recorded in shared transactions."""
    make = functools.partial(nonces.NonceLedger, runtime.raw_engine())
    return cast(nonces.NonceLedger, _app_singleton(_NONCE_LEDGER_KEY, make))


# --- start-up ----------------------------------------------------------------------------------


def auth_disabled(settings: Settings) -> bool:
    """True when requests get in as "local": auth disabled *and* bound to loopback.

    Each request must also come from a loopback peer (:func:`local_request`).
    """
    return settings.webhook.auth == "disabled" and is_loopback(settings.webhook.bind_host)


def loopback_peers_only() -> ResponseReturnValue | None:
    """Before every request: with auth disabled, a peer off loopback is 403, on every path."""
    if runtime.settings().webhook.auth != "disabled" or local_request():
        return None
    log.warning(
        "request refused (403): %sAUTH=disabled admits loopback peers only; this one is %s%s",
        ENV_PREFIX,
        request.remote_addr or "unknown",
        " (forwarded by a proxy)" if any(h in request.headers for h in FORWARDED_HEADERS) else "",
    )
    return _refusal(403)


def init_app(app: Flask) -> None:
    """Check the auth settings at start-up: refuse what cannot be safe, warn about the rest."""
    settings: Settings = app.config["SETTINGS"]
    app.before_request(loopback_peers_only)
    if settings.webhook.auth == "disabled":
        if not is_loopback(settings.webhook.bind_host):
            raise ConfigError(
                f"{ENV_PREFIX}AUTH=disabled is refused: the service is bound to "
                f"{settings.webhook.bind_host or 'an unknown host'}, not loopback; bind it to 127.0.0.1 "
                f"(sheets-sync serve --host 127.0.0.1) or unset {ENV_PREFIX}AUTH"
            )
        log.warning(
            "AUTHENTICATION IS DISABLED (%sAUTH=disabled): every request from a loopback peer "
            "is accepted as a local caller (others are refused). Only for development on %s; "
            "never deploy this.",
            ENV_PREFIX,
            settings.webhook.bind_host,
        )
        return
    if not settings.webhook.oidc_audiences:
        log.warning("%sOIDC_AUDIENCES is empty: every Google ID token will be refused", ENV_PREFIX)
    elif not settings.webhook.allowed_emails and not settings.webhook.allowed_domains:
        log.warning(
            "%sALLOWED_EMAILS and %sALLOWED_DOMAINS are empty: every ID token will be refused (403)",
            ENV_PREFIX,
            ENV_PREFIX,
        )

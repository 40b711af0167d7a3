"""HTTP sessions that send Google API calls to another base URL (the emulator, a proxy).

gspread takes a ``requests.Session``; giving it one of these points real,
unmodified gspread at ``SHEETS_SYNC_SHEETS_API_URL`` without touching its
code. Rewriting happens in :meth:`request`, before requests prepares the call,
so proxies and cookies are resolved for the real destination, and it is
idempotent, so a retry layer may re-send through the same session freely.
"""

from __future__ import annotations

from typing import Any

import requests
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession, Request

GOOGLE_HOSTS = (
    "https://sheets.googleapis.com",
    "https://www.googleapis.com",
    "https://oauth2.googleapis.com",
)


def rewrite_url(url: str, base_url: str | None) -> str:
    """``https://sheets.googleapis.com/v4/...`` → ``{base_url}/v4/...`` (others unchanged)."""
    if not base_url:
        return url
    for host in GOOGLE_HOSTS:
        if url.startswith(host + "/") or url == host:
            return base_url.rstrip("/") + url[len(host) :]
    return url


class HostRewriteMixin:
    """Sends Google API URLs to ``base_url``; mixed into any requests.Session."""

    base_url: str | None = None

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        target = rewrite_url(url.decode() if isinstance(url, bytes) else url, self.base_url)
        return super().request(method, target, *args, **kwargs)  # type: ignore[misc]


class RewritingSession(HostRewriteMixin, requests.Session):
    """An anonymous session (no credentials) for the emulator on loopback."""

    def __init__(self, base_url: str | None) -> None:
        super().__init__()
        self.base_url = base_url


class RewritingAuthorizedSession(HostRewriteMixin, AuthorizedSession):
    """google-auth's AuthorizedSession whose API calls *and* token refreshes are rewritten."""

    def __init__(self, credentials: Credentials, base_url: str | None, **kwargs: Any) -> None:
        auth_request = Request(session=RewritingSession(base_url))
        super().__init__(credentials, auth_request=auth_request, **kwargs)
        self.base_url = base_url


def google_session(
    base_url: str | None, credentials: Credentials | None = None
) -> requests.Session:
    """The session gspread should use: authorized when credentials are given."""
    if credentials is None:
        return RewritingSession(base_url)
    return RewritingAuthorizedSession(credentials, base_url)

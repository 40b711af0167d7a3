"""Google's ID-token certificates, fetched once per key rotation, not once per request.

``id_token.verify_token`` fetches the certs on every call; Google serves them with
``Cache-Control: public, max-age=…``, so the webhook keeps each answer as long as
that header allows (google-auth suggests ``cachecontrol`` for this; a dozen lines
here spare a dependency). No Flask here: the app keeps one instance
(:func:`webhook.auth`'s ``_certs_request``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import google.auth.transport.requests

CERTS_TIMEOUT_SECONDS = 10


class CachedCertsRequest(google.auth.transport.requests.Request):
    """google-auth's HTTP request, keeping GET answers as long as their ``Cache-Control`` says.

    ``id_token.verify_token`` fetches the certs on every call; Google serves
    them with ``Cache-Control: public, max-age=…``, so one fetch per key
    rotation is enough. (google-auth suggests ``cachecontrol`` for this; a
    dozen lines here spare a dependency.) Errors and uncacheable answers are
    never kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = CERTS_TIMEOUT_SECONDS,
        **kwargs: Any,
    ) -> Any:
        if method != "GET":
            return super().__call__(url, method, body, headers, timeout, **kwargs)
        with self._lock:
            kept = self._cache.get(url)
            if kept is not None and kept[0] > time.monotonic():
                return kept[1]
        response = super().__call__(url, method, body, headers, timeout, **kwargs)
        max_age = _max_age(response.headers.get("Cache-Control", ""))
        if response.status == 200 and max_age > 0:
            with self._lock:
                self._cache[url] = (time.monotonic() + max_age, response)
        return response


def _max_age(cache_control: str) -> int:
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip().isdigit():
            return int(value.strip())
    return 0

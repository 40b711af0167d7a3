"""The Apps Script add-on as a team deploys it: its files, allowlisted for their service.

Apps Script refuses to create a versioned deployment (how an add-on is
published to a domain) without ``urlFetchWhitelist`` in ``appsscript.json``,
and once the list is there ``UrlFetchApp`` fetches nothing it does not cover.
So the add-on in ``templates/apps_script/`` carries an example address, and
:func:`write_addon` writes a copy whose list is exactly the team's service
URL, checked here against the rules Google publishes for the prefixes
(developers.google.com/apps-script/manifest/allowlist-url): a valid URL,
``https://``, a full domain, a non-empty path (``https://host/``), and at
most one ``*`` wildcard, as the leading label of the host. A URL that Apps
Script would refuse to save, or a service it could not reach (loopback, a
bare IP), stops here with the fix instead of at the first menu click.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from sheets_sync.config import Settings
from sheets_sync.errors import ConfigError

ALLOWLIST_FIELD = "urlFetchWhitelist"
MANIFEST = "appsscript.json"
ADDON_SUFFIXES = (".gs", ".html")
"""The add-on's code and pages; with the manifest, every file ``clasp push`` uploads."""
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MANIFEST_URL = "developers.google.com/apps-script/manifest/allowlist-url"


def packaged_addon_dir() -> Path:
    """The add-on's files as the repository (or the installed package) ships them.

    Not ``SHEETS_SYNC_TEMPLATES_DIR``: that names a team's tab templates, which
    need not hold the add-on.
    """
    return Settings().files.templates_dir / "apps_script"


def allowlist_prefix(service_url: str) -> str:
    """The ``urlFetchWhitelist`` prefix covering every call to the service at ``service_url``.

    The add-on appends ``/hooks/...``, ``/runs...`` to ``SHEETS_SYNC_URL``, so
    the prefix is that URL with one trailing ``/``. A wildcard is refused: the
    list names the one service the add-on talks to.
    """
    url = service_url.strip()
    if "*" in url:
        raise ConfigError(
            f"--url {service_url!r}: give the service's own address (no '*'), "
            "e.g. https://PROJECT_ID.ew.r.appspot.com"
        )
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigError(
            f"--url {service_url!r}: the service's address takes no '?query' or '#fragment'; "
            "give its base, e.g. https://PROJECT_ID.ew.r.appspot.com"
        )
    prefix = url.rstrip("/") + "/"
    check_prefix(prefix, where=f"--url {service_url!r}")
    return prefix


def check_prefix(prefix: str, where: str) -> None:
    """Raise ConfigError unless Google accepts ``prefix`` in ``urlFetchWhitelist``."""
    parts = urlsplit(prefix)
    problem = _scheme_problem(parts) or _host_problem(parts) or _path_problem(parts)
    if problem:
        raise ConfigError(f"{where}: {problem} (Google's allowlist rules: {_MANIFEST_URL})")


def _scheme_problem(parts: SplitResult) -> str | None:
    if parts.scheme != "https":
        return "an allowlisted URL must start with https:// (Apps Script refuses http://)"
    if parts.username is not None or parts.password is not None:
        return "the address may not carry a user name or password"
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return f"{parts.netloc!r} has an invalid port"
    return None


def _host_problem(parts: SplitResult) -> str | None:
    """A full domain, as Apps Script (on Google's servers) must reach it; wildcard rules."""
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if any("*" in label for label in labels):
        return "a '*' may only stand for the leading subdomains, once (https://*.example.com/)"
    if _is_ip(host):
        return f"{host!r} is an IP address; give the service's domain name"
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return (
            f"{host or parts.netloc!r} is not a full domain name (like tradein-ops.ew.r.appspot.com);"
            " Apps Script calls the service from Google's servers, which reach no local name"
        )
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _path_problem(parts: SplitResult) -> str | None:
    if not parts.path:
        return "the prefix needs a path: end the host with '/' (https://example.com/)"
    if parts.query or parts.fragment:
        return "a prefix takes no '?query' or '#fragment'"
    return None


def write_addon(service_url: str, out_dir: Path, source_dir: Path | None = None) -> list[Path]:
    """Write the add-on to ``out_dir`` with its allowlist set to ``service_url``; the files.

    Only the add-on's own files are written (``appsscript.json``, ``*.gs``,
    ``*.html``); anything else there (``.clasp.json``) stays. The copy is never
    the source itself, so the repository's template keeps its example.
    """
    source = (source_dir or packaged_addon_dir()).resolve()
    prefix = allowlist_prefix(service_url)
    out = out_dir.resolve()
    if out == source:
        raise ConfigError(
            f"--out {out_dir}: that is the add-on's template itself; write the copy elsewhere "
            "(e.g. --out tradein-ops-addon)"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out_dir}: exists and is not a directory; choose another")
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_manifest(source / MANIFEST, out / MANIFEST, prefix)]
    for file in sorted(source.iterdir()):
        if file.suffix in ADDON_SUFFIXES and file.is_file():
            written.append(Path(shutil.copyfile(file, out / file.name)))
    return written


def _write_manifest(source: Path, target: Path, prefix: str) -> Path:
    """The template's manifest, its ``urlFetchWhitelist`` replaced by ``[prefix]``."""
    manifest = json.loads(source.read_text(encoding="utf-8"))
    manifest[ALLOWLIST_FIELD] = [prefix]
    target.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return target


def manifest_allowlist(addon_dir: Path) -> list[str]:
    """The ``urlFetchWhitelist`` of the add-on in ``addon_dir``, each prefix checked."""
    path = addon_dir / MANIFEST
    prefixes = json.loads(path.read_text(encoding="utf-8")).get(ALLOWLIST_FIELD)
    if not isinstance(prefixes, list) or not prefixes:
        raise ConfigError(
            f"{path}: no {ALLOWLIST_FIELD}; Apps Script needs it for a versioned deployment "
            "(write the add-on with: sheets-sync addon --url YOUR_SERVICE_URL)"
        )
    for index, prefix in enumerate(prefixes):
        check_prefix(str(prefix), where=f"{path}: {ALLOWLIST_FIELD}[{index}] {prefix!r}")
    return [str(prefix) for prefix in prefixes]

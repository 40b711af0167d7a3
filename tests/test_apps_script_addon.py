"""``sheets-sync addon``: the add-on written with its urlFetchWhitelist set to one's service.

Apps Script refuses a versioned deployment without ``urlFetchWhitelist`` and
then fetches nothing it does not cover, so the command is the one place the
service's URL goes into the manifest; it refuses what Google would refuse
(developers.google.com/apps-script/manifest/allowlist-url) or could not reach.
The add-on it writes is what the Node tests run (tests/apps_script/).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheets_sync.addon import check_prefix, manifest_allowlist, packaged_addon_dir
from sheets_sync.cli import main
from sheets_sync.errors import ConfigError

SERVICE = "https://tradein-ops.ew.r.appspot.com"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["addon", *args])
    return result.exit_code, result.output


def test_writes_the_add_on_with_the_service_as_its_only_allowed_prefix(tmp_path: Path) -> None:
    out = tmp_path / "addon"
    code, output = run("--url", SERVICE + "/", "--out", str(out))
    assert code == 0, output
    manifest = json.loads((out / "appsscript.json").read_text())
    template = json.loads((packaged_addon_dir() / "appsscript.json").read_text())
    assert manifest["urlFetchWhitelist"] == [SERVICE + "/"]
    assert {**manifest, "urlFetchWhitelist": None} == {**template, "urlFetchWhitelist": None}
    shipped = sorted(p.name for p in packaged_addon_dir().iterdir() if p.suffix in {".gs", ".html"})
    assert sorted(p.name for p in out.iterdir() if p.name != "appsscript.json") == shipped
    for name in shipped:
        assert (out / name).read_text() == (packaged_addon_dir() / name).read_text()
    assert f"SHEETS_SYNC_URL to {SERVICE}" in output


def test_a_service_path_is_kept_and_other_files_in_the_directory_stay(tmp_path: Path) -> None:
    (tmp_path / ".clasp.json").write_text('{"scriptId": "abc", "rootDir": "."}')
    code, output = run("--url", "https://ops.example.com/tradein", "--out", str(tmp_path))
    assert code == 0, output
    assert manifest_allowlist(tmp_path) == ["https://ops.example.com/tradein/"]
    assert json.loads((tmp_path / ".clasp.json").read_text())["scriptId"] == "abc"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://tradein-ops.ew.r.appspot.com", "must start with https://"),
        ("https://localhost:8080", "'localhost' is not a full domain name"),
        ("https://127.0.0.1:8080", "'127.0.0.1' is an IP address"),
        ("https://[::1]/", "is an IP address"),
        ("https://*.appspot.com", "no '*'"),
        ("https://tradein-ops.ew.r.appspot.com/?x=1", "takes no '?query'"),
        ("https://user:pw@tradein-ops.example.com", "user name or password"),
        ("tradein-ops.ew.r.appspot.com", "must start with https://"),
    ],
)
def test_refuses_an_address_google_would_refuse_or_could_not_reach(
    tmp_path: Path, url: str, says: str
) -> None:
    code, output = run("--url", url, "--out", str(tmp_path / "addon"))
    assert code == 1
    assert says in output and "--url" in output, output
    assert not (tmp_path / "addon").exists()


def test_refuses_to_overwrite_the_template_itself() -> None:
    code, output = run("--url", SERVICE, "--out", str(packaged_addon_dir()))
    assert code == 1
    assert "the add-on's template itself" in output
    assert manifest_allowlist(packaged_addon_dir()) == [SERVICE + "/"]


@pytest.mark.parametrize(
    ("prefix", "ok"),
    [  # Google's examples of valid and invalid prefixes
        ("https://www.google.com/", True),
        ("https://www.google.com", False),
        ("https://*.example.com/foo", True),
        ("https://*.*.example.com/foo", False),
        ("https://subdomain.*.example.com/foo", False),
        ("http://www.google.com/", False),
    ],
)
def test_prefixes_follow_googles_allowlist_rules(prefix: str, ok: bool) -> None:
    if ok:
        check_prefix(prefix, where="test")
    else:
        with pytest.raises(ConfigError, match="allowlist rules"):
            check_prefix(prefix, where="test")


def test_the_repository_template_carries_a_valid_allowlist() -> None:
    """Without it Apps Script refuses the versioned deployment that publishes the add-on."""
    assert manifest_allowlist(packaged_addon_dir()) == [SERVICE + "/"]

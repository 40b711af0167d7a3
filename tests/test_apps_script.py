"""The Apps Script add-on (templates/apps_script/) run under Node against the real service.

Each ``tests/apps_script/*.test.js`` file is one ``node --test`` run: it starts
the service (``tests/apps_script/service.py``: ``sheets-sync serve`` on
loopback with auth on, the Sheets emulator, ID tokens signed by a local key)
and runs the add-on's ``.gs`` files with stand-ins for the Apps Script
services, whose ``UrlFetchApp`` makes real HTTP calls. This test fails with
node's output when a Node test fails. And the ``.gs`` files are type-checked
against Google's Apps Script typings (``@types/google-apps-script``) by tsc,
both npm packages of ``tests/apps_script/package-lock.json`` (``npm ci``), so a
call to a method Apps Script does not have fails here, with tsc's output.
Without ``node`` (or ``npm``) they skip, except under ``CI=true`` where that is
a failure (``.ci/run`` installs both and runs ``npm ci``).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import unavailable

NODE_TESTS = Path(__file__).resolve().parent / "apps_script"
NODE_MAJOR = 18
"""node:test, fetch and AbortSignal.timeout: Debian 12's Node 18 is enough."""


def node() -> str:
    """The ``node`` executable, new enough; skip (fail under CI) otherwise."""
    found = shutil.which("node")
    version = ""
    if found:
        version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    match = re.match(r"v(\d+)\.", version)
    if found and match and int(match.group(1)) >= NODE_MAJOR:
        return found
    reason = (
        f"Node.js >= {NODE_MAJOR} is needed to run the add-on's tests (found {version or 'none'})"
    )
    unavailable(reason, "CI=true: .ci/run installs nodejs")


def locked_versions(lockfile: Path) -> dict[str, str]:
    """Package path -> version, as a lockfile (or npm's record of node_modules) lists them."""
    if not lockfile.is_file():
        return {}
    packages = json.loads(lockfile.read_text()).get("packages", {})
    return {name: entry.get("version", "") for name, entry in packages.items() if name}


def install_packages() -> None:
    """``npm ci`` when node_modules is not what the lockfile says (absent, or older).

    Under a file lock: the test workers (``-n 2``) would otherwise install into
    the same directory at once. Without npm it skips, except under CI.
    """
    wanted = locked_versions(NODE_TESTS / "package-lock.json")
    installed = NODE_TESTS / "node_modules" / ".package-lock.json"
    if not wanted or locked_versions(installed) == wanted:
        return
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is needed to install the add-on tests' packages (npm ci)"
        unavailable(reason, "CI=true: .ci/run installs npm")
    with open(NODE_TESTS / ".npm-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if locked_versions(installed) != wanted:
            done = subprocess.run([npm, "ci"], cwd=NODE_TESTS, capture_output=True, text=True)
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("test_file", sorted(p.name for p in NODE_TESTS.glob("*.test.js")))
def test_the_add_on_under_node(test_file: str) -> None:
    executable = node()
    install_packages()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    env["SHEETS_SYNC_TEST_PYTHON"] = sys.executable
    done = subprocess.run(
        [executable, "--test", test_file],
        cwd=NODE_TESTS, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = f"{done.stdout[-30000:]}\n{done.stderr[-10000:]}"
    assert done.returncode == 0, f"node --test {test_file} failed:\n{report}"
    assert re.search(r"^# pass [1-9]", done.stdout, re.M), report
    assert re.search(r"^# fail 0$", done.stdout, re.M), report


def test_the_gs_files_type_check_against_googles_apps_script_typings() -> None:
    """A method Apps Script does not have, a wrong argument, a null not handled: tsc says so."""
    executable = node()
    install_packages()
    done = subprocess.run(
        [executable, "typecheck.js"], cwd=NODE_TESTS, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (
        f"tsc found errors in templates/apps_script:\n{done.stdout}\n{done.stderr}"
    )

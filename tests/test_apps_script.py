"""The Apps Script add-on (templates/apps_script/) run under Node against the real service.

Each ``tests/apps_script/*.test.js`` file is one ``node --test`` run: it starts
the service (``tests/apps_script/service.py``: ``sheets-sync serve`` on
loopback with auth on, the Sheets emulator, ID tokens signed by a local key)
and runs the add-on's ``.gs`` files with stand-ins for the Apps Script
services, whose ``UrlFetchApp`` makes real HTTP calls. This test fails with
node's output when a Node test fails. Without ``node`` it skips, except under
``CI=true`` where that is a failure (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IN_CI

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
    if IN_CI:
        pytest.fail(reason + " (CI=true: .ci/run installs nodejs)")
    pytest.skip(reason)


def install_packages() -> None:
    """``npm ci`` from the lockfile when the tests have npm packages and they are absent."""
    manifest = json.loads((NODE_TESTS / "package.json").read_text())
    wanted = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    if wanted and not (NODE_TESTS / "node_modules").is_dir():
        npm = shutil.which("npm") or "npm"
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

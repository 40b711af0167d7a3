"""The ``sheets-sync`` command line, assembled: every command module, registered on ``main``.

The group and what commands share live in :mod:`sheets_sync.cli.app`; this
package imports the command modules (each attaches itself to ``main`` as it
is imported) and exposes ``main``, the console script's entry point.
"""

from __future__ import annotations

from sheets_sync.cli import (
    addon_command,  # noqa: F401
    alerts_commands,  # noqa: F401
    db_commands,  # noqa: F401
    doctor_command,  # noqa: F401
    emulator_command,  # noqa: F401
    facts_commands,  # noqa: F401
    pricing_commands,  # noqa: F401
    serve_command,  # noqa: F401
    sync_commands,  # noqa: F401
)
from sheets_sync.cli.app import main

__all__ = ["main"]

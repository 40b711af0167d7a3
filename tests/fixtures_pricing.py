"""Pricing fixtures: the real Pricing tab synced to a workbook or to the emulator.

``team`` is the synced tab as a :class:`pricing_sheets.TeamSheet`, once per
destination (``xlsx``, ``gsheets``), on the pricing dataset of
:mod:`pricing_data`. A test module may define its own ``team`` (the CLI's
tests sync through the command line).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pricing_sheets import TeamSheet, synced_team
from sqlalchemy.engine import Engine


@pytest.fixture(params=["xlsx", "gsheets"])
def team(request: pytest.FixtureRequest, engine: Engine, db_url: str, tmp_path: Path) -> TeamSheet:
    """The Pricing tab synced from the pricing dataset, ready for the team's edits."""
    return synced_team(request, engine, db_url, tmp_path)

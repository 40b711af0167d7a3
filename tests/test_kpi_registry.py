"""The built-in query registry: every query a shipped template names, and nothing unknown.

A template names its query by ``query:``; the registry is the one list the
template loader and the runner ask, so a typo fails when templates load (and,
for a template built in code, when it runs) with the list of the known names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from helpers import TEMPLATES as TEMPLATES_DIR
from helpers import shipped_template as template

from sheets_sync.config import Settings
from sheets_sync.errors import TemplateError
from sheets_sync.kpis.registry import BUILTIN_QUERIES, builtin_query
from sheets_sync.kpis.runner import build_context, compute_frame
from sheets_sync.sync import load_all_templates

KNOWN = (
    "['alerts', 'dashboard_headline', 'kpi_daily', 'kpi_monthly', 'kpi_weekly', 'onboarding', "
    "'pricing', 'pricing_opportunities', 'quality', 'seller_scorecard', 'sync_status']"
)
SHIPPED = sorted((TEMPLATES_DIR / "tabs").glob("*.yaml"))

UNKNOWN_TEMPLATE = """\
title: Forecast
query: revenue_forecast
columns:
  - {header: Date}
"""


def _named_query(path: Path) -> str | None:
    return yaml.safe_load(path.read_text(encoding="utf-8")).get("query")


def test_the_shipped_templates_are_read():
    assert len(SHIPPED) >= 8 and all(_named_query(p) for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_query_a_shipped_template_names_is_registered(path):
    name = _named_query(path)
    assert name in BUILTIN_QUERIES
    assert builtin_query(name).name == name


def test_an_unknown_query_in_a_template_fails_at_load_naming_the_known_ones(tmp_path):
    (tmp_path / "tabs").mkdir()
    path = tmp_path / "tabs" / "forecast.yaml"
    path.write_text(UNKNOWN_TEMPLATE, encoding="utf-8")
    expected = (
        f"{path}:2: query: unknown built-in query 'revenue_forecast'. Fix: use one of {KNOWN}"
    )
    with pytest.raises(TemplateError, match=f"^{re.escape(expected)}$"):
        load_all_templates(Settings().replace(templates_dir=tmp_path))


def test_an_unknown_query_fails_at_run_naming_the_known_ones(engine):
    daily = template("kpi_daily")
    broken = dataclasses.replace(daily, query="kpi_dayly")
    expected = (
        f"{daily.source_file}: query: unknown built-in query 'kpi_dayly'. Fix: use one of {KNOWN}"
    )
    with engine.connect() as conn, pytest.raises(TemplateError, match=f"^{re.escape(expected)}$"):
        compute_frame(conn, broken, build_context(conn, broken, as_of=dt.date(2026, 1, 1)))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("onboarding", {"stall_days": 3}),
        ("sync_status", {"limit": 5}),
        ("pricing", {"step": 0.5, "ceiling": 900}),
        ("pricing_opportunities", {"top": 20, "min_kept": 1.5}),
        ("seller_scorecard", {"min_volume": 1, "thresholds": {}}),
        ("quality", {"status_window_days": 7, "thresholds": {}}),
        ("dashboard_headline", {"status": {"green": 1.1, "amber": 0.95}}),
    ],
)
def test_template_params_override_the_query_defaults_key_by_key(engine, name, overrides):
    """Only the keys a template sets change; a nested mapping is replaced whole."""
    shipped = next(t for t in map(template, (p.stem for p in SHIPPED)) if t.query == name)
    query = builtin_query(name)
    with engine.connect() as conn:
        bare = build_context(conn, dataclasses.replace(shipped, params={}))
        custom = build_context(conn, dataclasses.replace(shipped, params=overrides))
    assert bare.params == query.defaults and query.defaults
    assert custom.params == {**query.defaults, **overrides}
    assert set(custom.params) == set(query.defaults)

"""The tables and the RESULTS.md section ``bench/kpis.py`` prints (kept apart from the runs).

Each summary is one database × scope: ``pushdown`` (the facts fresh: every sync
after the first), ``pandas`` (the baseline), and for all tabs ``cold`` (the same
tabs right after the facts were marked unbuilt, so the first fact-reading tab
pays the full build: the first sync after a bulk load, or after ``sheets-sync
facts rebuild``). Both pushdown rows are compared with the same pandas median.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path
from typing import Any

ALL = "all"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def _label(scope: str) -> str:
    return "**all tabs**" if scope == ALL else TITLES[scope]


TITLES = {
    "kpi_daily": "KPI Daily", "kpi_weekly": "KPI Weekly", "kpi_monthly": "KPI Monthly",
    "seller_scorecard": "Seller Scorecard", "quality": "Quality", "pricing": "Pricing",
    "onboarding": "Onboarding", "dashboard": "Dashboard (headline)",
}  # fmt: skip


def table(summaries: list[dict[str, Any]]) -> str:
    lines = [
        "| database | query | rows | pushdown (median; runs) | pandas (median; runs) | "
        "speed-up | pushdown peak RSS (above imports) | pandas peak RSS (above imports) | "
        "CPU s, pushdown / pandas (SQLite) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        push, base = s["pushdown"], s.get("pandas")
        if base is None:
            cells = [s["db"], _label(s["scope"]), f"{s['rows']:,}", _seconds(push), "—", "—",
                     _memory(push), "—", "—"]  # fmt: skip
        else:
            cells = [s["db"], _label(s["scope"]), f"{s['rows']:,}", _seconds(push), _seconds(base),
                     f"{base['median_s'] / push['median_s']:.1f}×", _memory(push), _memory(base),
                     _cpu(s["db"], push, base)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
        if "cold" in s:
            lines.append("| " + " | ".join(_cold_cells(s)) + " |")
    for s in summaries:
        if s["scope"] == ALL and "pandas" in s:
            lines += ["", _all_tabs_sentence(s)]
    return "\n".join(lines)


def _cold_cells(s: dict[str, Any]) -> list[str]:
    """The all-tabs row of the first sync after a bulk load: the full facts build included."""
    cold, base = s["cold"], s.get("pandas")
    label = "**all tabs, cold** (full facts build first)"
    if base is None:
        return [s["db"], label, f"{s['rows']:,}", _seconds(cold), "—", "—", _memory(cold), "—", "—"]
    return [s["db"], label, f"{s['rows']:,}", _seconds(cold), _seconds(base),
            f"{base['median_s'] / cold['median_s']:.1f}×", _memory(cold), _memory(base),
            _cpu(s["db"], cold, base)]  # fmt: skip


def _all_tabs_sentence(s: dict[str, Any]) -> str:
    push, base = s["pushdown"], s["pandas"]
    sentence = (
        f"{s['db']}, all tabs: pushdown is {base['median_s'] / push['median_s']:.1f}× faster "
        f"and uses {push['delta_mb'] / base['delta_mb']:.1%} of the baseline's memory above imports"
    )
    if "cold" in s:
        sentence += (
            f"; cold (the full facts build, then the tabs) {base['median_s'] / s['cold']['median_s']:.1f}× "
            "faster"
        )
    return sentence + "."


def _cpu(db: str, push: dict[str, Any], base: dict[str, Any]) -> str:
    """This process's CPU seconds: on SQLite the database runs in it, so both sides' whole
    work is counted and the ratio holds on a busy machine; on PostgreSQL the server's
    CPU is in another process, so the figure would flatter the pushdown (not shown)."""
    if db != "sqlite" or "cpu_s" not in push:
        return "—"
    ratio = base["cpu_s"] / push["cpu_s"] if push["cpu_s"] else float("inf")
    return f"{push['cpu_s']:.2f} / {base['cpu_s']:.2f} ({ratio:.1f}×)"


def _seconds(figures: dict[str, Any]) -> str:
    runs = ", ".join(f"{t:.2f}" for t in figures["times"])
    return f"{figures['median_s']:.2f} s ({runs})"


def _memory(figures: dict[str, Any]) -> str:
    return f"{figures['peak_mb']:.0f} MB ({figures['delta_mb']:.0f} MB)"


def write_section(body: str) -> None:
    """Replace (or add) the ``## KPIs`` section of RESULTS.md, leaving others' sections alone."""
    text_ = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    lines = text_.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "## KPIs"), None)
    if start is None:
        lines += ["", *body.splitlines()]
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = [*body.splitlines(), ""]
    RESULTS.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def section(
    summaries: list[dict[str, Any]],
    args: argparse.Namespace,
    command: str,
    rebuilds_s: dict[str, float],
) -> str:
    rebuilds = "; ".join(f"{db} {seconds:.1f} s" for db, seconds in rebuilds_s.items())
    return "\n".join([
        "## KPIs",
        "",
        f"Every order-reading KPI tab over {args.orders:,} demo orders (365 days, seed 42) — "
        "KPI Daily / Weekly / Monthly, Seller Scorecard, Quality, Pricing, the Dashboard's "
        "headline figures — plus Onboarding: "
        "the product's way (`compute_frame` of each template: KPI Daily / Weekly / Monthly, "
        "Seller Scorecard and Quality roll up the daily fact table `kpi_daily_facts`, which "
        "the runner first brings up to date — nothing pending here; Pricing, Onboarding and "
        "the Dashboard headline (one grouped select over the raw orders) query their tables) vs the obvious baseline (`SELECT *` of the raw tables a tab needs "
        "into pandas, orders joined to their category and seller name, then groupby / merge / "
        "rank; `bench/kpis_baseline.py`, one function per KPI). Each row of the table is its "
        "own subprocess per variant: one tab alone (the pandas side reads the tables that tab "
        "needs), or **all tabs** in one go (pandas reads each table once and shares it). Wall "
        f"time: median of {args.repeat} runs; memory: that subprocess's peak RSS (`VmHWM`), and "
        "in brackets the same minus its RSS after imports. Every tab's rows are compared with "
        "`==` and were equal.",
        "",
        f"The facts themselves: a full build from every order took {rebuilds} in this run "
        "(once per database: at bulk load, or `sheets-sync facts rebuild`); afterwards each "
        "sync applies only the logged changes (`bench/facts.py`, section *Daily facts*). "
        "The **cold** row is the first sync after a bulk load: in its own process, before each "
        "run, the facts are marked unbuilt (`facts.mark_unbuilt`), so the first fact-reading "
        "tab builds them in full (`ensure_fresh`) and the time includes that build; its rows "
        "were compared with the warm run's.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {os.cpu_count()} CPUs, shared with other helpers' jobs (load average often "
        f"above 5): ratios are same-run; {dt.date.today().isoformat()}.",
        "",
        table(summaries),
        "",
        "PostgreSQL 15 JIT-compiled the old raw-order KPI queries for seconds (11.4 s of "
        "11.5 s once), so the runner and the facts refresh set `SET LOCAL jit = off`.",
        "",
    ])  # fmt: skip

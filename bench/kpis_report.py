"""The tables and the RESULTS.md section ``bench/kpis.py`` prints (kept apart from the runs).

Each summary is one database × scope: ``pushdown`` (the facts fresh: every sync
after the first), ``pandas`` (the baseline), and for all tabs ``cold`` (the same
tabs right after a bulk load that left the facts unbuilt and the win model's
days stale, so the sync pays the full build and the model's count: the first
sync after such a load, or after ``sheets-sync facts rebuild``) and ``after
load`` (the same load, then the loader's preparation, reported apart: the first
sync after ``demo-data``). Every pushdown row is compared with the same pandas
median.
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
        for variant in FIRST_SYNC:
            if variant in s:
                lines.append("| " + " | ".join(_first_sync_cells(s, variant)) + " |")
    for s in summaries:
        if s["scope"] == ALL and "pandas" in s:
            lines += ["", _all_tabs_sentence(s)]
    return "\n".join(lines)


FIRST_SYNC = {
    "cold": "**all tabs, cold** (the sync builds the facts and counts the model)",
    "after load": "**all tabs, after load** (the loader built them: {prepared} s, apart)",
}
"""The all-tabs rows of the first sync after a bulk load, by what built the facts."""


def _first_sync_cells(s: dict[str, Any], variant: str) -> list[str]:
    """The all-tabs row of the first sync after a bulk load."""
    cold, base = s[variant], s.get("pandas")
    label = FIRST_SYNC[variant].format(prepared=f"{cold.get('prepared_s', 0.0):.2f}")
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
    for variant in FIRST_SYNC:
        if variant in s:
            sentence += f"; {variant} {base['median_s'] / s[variant]['median_s']:.1f}× faster"
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
        "The **cold** row is the first sync after a bulk load that left the building to it: in "
        "its own process, before each run, an empty `facts.bulk_load` leaves the facts unbuilt "
        "and the win model's days stale, so the sync builds the facts in full and recounts the "
        "model's window, inside the time. The **after load** row is the same load followed by "
        "the loader's preparation (`demo.ready.prepare_first_sync`, as `demo-data` runs it; its "
        "seconds shown apart, untimed in the row). Their rows were compared with the warm run's.",
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

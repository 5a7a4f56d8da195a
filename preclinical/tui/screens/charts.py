"""A run's charts in the terminal, where a picture beats a table: rates with their intervals, the triage
confusion matrix, criterion outcomes per axis, repeats, and agreement (regrade and clinicians)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from preclinical.domain.stats import NO_LEVEL
from preclinical.domain.triage import LEVELS, RANK
from preclinical.report.collect import axis_totals
from preclinical.store import regrades, reviews
from preclinical.store import runs as run_store
from preclinical.store.comparison import run_statistics
from preclinical.store.models import Regrade
from preclinical.tui.screens.base import BaseScreen

WIDTH = 40
SHORT = {"Emergency": "Emergency", "Clinician": "Clinician", "Home care": "Home care", NO_LEVEL: "No answer"}
DECISION_STYLES = {"MET": "green", "PARTIALLY MET": "yellow", "NOT MET": "red", "UNGRADED": "grey50"}


def rate_bar(label: str, value: float | None, ci: list[float] | None, style: str) -> Text:
    """`label  ██████████▒▒▒░░░░  88.9% (95% CI 61.3–97.6)`: the bar to the rate, the interval shaded."""
    line = Text(f"{label:<18}")
    if value is None:
        return line.append("no data", style="dim")
    filled = round(value / 100 * WIDTH)
    low, high = (round(v / 100 * WIDTH) for v in ci) if ci else (filled, filled)
    for i in range(WIDTH):
        if i < min(filled, low):
            line.append("█", style=style)
        elif i < filled:
            line.append("▓", style=style)
        elif i < high:
            line.append("▒", style=style)
        else:
            line.append("░", style="grey35")
    line.append(f"  {value:.1f}%", style="bold")
    if ci:
        line.append(f"  (95% CI {ci[0]:.1f}–{ci[1]:.1f})", style="dim")
    return line


def matrix_table(matrix: dict[str, dict[str, int]], acceptable: dict[str, dict[str, int]] | None = None) -> Table:
    """Gold against the agent's disposition; a cell says how many of its answers the cases accept (acceptable
    levels), and is green when all of them are."""
    table = Table(title="Triage confusion matrix (rows: gold · columns: the agent's disposition)", title_justify="left",
                  show_lines=True, pad_edge=True)
    predicted = [*reversed(LEVELS), NO_LEVEL]
    table.add_column("")
    for level in predicted:
        table.add_column(SHORT[level], justify="center", min_width=11)
    for gold in reversed(LEVELS):
        counts = matrix.get(gold, {})
        total = sum(counts.values())
        cells: list[RenderableType] = []
        for level in predicted:
            n = counts.get(level, 0)
            if not n:
                cells.append(Text("·", style="dim"))
                continue
            accepted = (acceptable or {}).get(gold, {}).get(level, 0) if level != gold else 0
            if level == gold or accepted == n:
                style = "bold white on dark_green"
            elif level == NO_LEVEL or RANK[level] < RANK[gold]:
                style = "bold white on dark_red"  # under-triage: the dangerous direction
            else:
                style = "bold black on dark_goldenrod"
            cells.append(Text(f" {n} ({n / total * 100:.0f}%) " + (f"\n {accepted} acceptable " if accepted else ""),
                              style=style))
        table.add_row(Text(SHORT[gold], style="bold"), *cells)
    return table


def axis_bars(axes: list[dict[str, Any]]) -> Group:
    lines = [Text("Criterion outcomes per axis", style="bold")]
    for axis in axes:
        total = sum(axis[d] for d in DECISION_STYLES)
        line = Text(f"{axis['axis'].replace('_', ' '):<18}")
        used = 0
        for decision, style in DECISION_STYLES.items():
            width = round(axis[decision] / total * WIDTH) if total else 0
            width = min(width, WIDTH - used)
            line.append("█" * width, style=style)
            used += width
        line.append("░" * (WIDTH - used), style="grey35")
        percent = axis.get("percent")
        line.append("  —" if percent is None else f"  {percent:.0f}% of points")
        lines.append(line)
    legend = Text("                  ")
    for decision, style in DECISION_STYLES.items():
        legend.append("█ ", style=style).append(decision.lower() + "   ", style="dim")
    lines.append(legend)
    return Group(*lines)


def kappa_line(label: str, kappa: dict[str, Any]) -> Text:
    """κ on a −1…1 scale: the interval shaded, the estimate marked."""
    line = Text(f"{label[:31]:<32}")
    if kappa.get("kappa") is None:
        return line.append("undefined (no variation)" if kappa.get("n") else "no pairs", style="dim")

    def at(v: float) -> int:
        return max(0, min(WIDTH - 1, round((v + 1) / 2 * (WIDTH - 1))))

    low, high = (at(v) for v in kappa["ci"]) if kappa.get("ci") else (at(kappa["kappa"]),) * 2
    mark, zero = at(kappa["kappa"]), at(0)
    for i in range(WIDTH):
        if i == mark:
            line.append("●", style="bold cyan")
        elif low <= i <= high:
            line.append("━", style="cyan")
        elif i == zero:
            line.append("┊", style="grey50")
        else:
            line.append("·", style="grey35")
    line.append(f"  κ {kappa['kappa']:.2f}", style="bold")
    if kappa.get("ci"):
        line.append(f" ({kappa['ci'][0]:.2f} to {kappa['ci'][1]:.2f}) · {kappa['n']} pairs", style="dim")
    return line


def charts(run_id: str) -> Group:
    run = run_store.resolve_run(run_id, include_deleted=True)
    stats = run_statistics(run.id)
    triage = stats["triage"]
    parts: list[RenderableType] = [
        Text("Rates with their 95% intervals (the bar ends at the rate; ▓▒ span the interval)", style="bold"),
        rate_bar("Pass rate", stats["pass_rate"], stats["pass_rate_ci"], "green"),
        rate_bar("Triage accuracy", triage["accuracy"], triage["accuracy_ci"], "blue"),
        Text(f"Under-triage {triage['under_triage']} · over-triage {triage['over_triage']} · "
             f"no answer {triage['no_answer']}"
             + (f" · acceptable alternative {triage['acceptable']}" if triage.get("acceptable") else ""),
             style="red" if triage["under_triage"] else ""),
        Text(""), matrix_table(triage["matrix"], triage.get("matrix_acceptable")), Text(""),
        axis_bars(axis_totals(regrades.grading_rows(run))),
    ]
    consistency = stats.get("consistency")
    if consistency:
        overall, k = consistency["overall"], consistency["overall"]["k"]
        parts += [Text(""), Text(f"Repeats ({k} per scenario)", style="bold"),
                  rate_bar(f"pass@{k}", _pct(overall["pass_at_k"]), None, "green"),
                  rate_bar(f"worst-of-{k}", _pct(overall["worst_of_k"]), None, "red"),
                  rate_bar("same disposition", _pct(overall["consistent_dispositions"]), None, "blue")]
    latest = (Regrade.select().where(Regrade.test_run == run.id, Regrade.status == regrades.RegradeStatus.COMPLETED)
              .order_by(Regrade.created_at.desc()).first())
    clinicians = reviews.judge_agreement(run)
    if latest is not None or clinicians["reviews"]:
        parts += [Text(""), Text("Agreement, Cohen's κ on −1…1 (━ 95% interval)", style="bold")]
        if latest is not None:
            found = regrades.agreement(run, latest)
            parts.append(kappa_line(f"vs regrade {latest.label}", found["overall"]))
            parts += [kappa_line(f"  {axis.replace('_', ' ')}", k) for axis, k in found["by_axis"].items()]
        if clinicians["reviews"]:
            parts.append(kappa_line("vs clinicians", clinicians["overall"]))
            parts += [kappa_line(f"  {axis.replace('_', ' ')}", k) for axis, k in clinicians["by_axis"].items()]
    return Group(*parts)


def _pct(share: float | None) -> float | None:
    return None if share is None else share * 100


class ChartsScreen(BaseScreen):
    TITLE_TEXT = "Charts"
    HELP_TEXT = ("The run in pictures: pass rate and triage accuracy with their 95% intervals, the triage confusion "
                 "matrix (red is under-triage), criterion outcomes per rubric axis, repeats, and agreement with a "
                 "regrade and with clinicians. The HTML report (h on the run) has the same and the transcripts.")

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(classes="panel"):
            yield Static(Text("Drawing the charts…", style="dim"), id="charts")
        yield Footer()

    def reload(self) -> None:
        # Reading every grading, regrade and review of the run grows with it (about 28 s for one run of
        # 100,000 scenario runs, bench/tui_agreement.py): drawn in a thread, the interface stays live meanwhile.
        run_id = self.run_id
        self.compute_in_thread("charts", lambda: charts(run_id), self.query_one("#charts", Static).update)

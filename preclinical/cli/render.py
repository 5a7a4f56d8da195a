"""Human output of the client commands (rich tables and detail views) and JSON output for --json."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

import click
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from preclinical.cli.client import CommandError
from preclinical.domain.run import RunStatus, ScenarioRunStatus, all_criteria, describe_spec, run_verdict
from preclinical.domain.triage import DISPLAY, compare

STATUS_STYLES = {
    "ok": "green", "warning": "yellow", "error": "red",
    RunStatus.PENDING: "dim", RunStatus.SCHEDULED: "dim", RunStatus.RUNNING: "cyan", RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "red", RunStatus.CANCELED: "yellow",
    ScenarioRunStatus.GRADING: "cyan", ScenarioRunStatus.PASSED: "green", ScenarioRunStatus.ERROR: "red",
}
SCENARIO_STATE_STYLES = {"active": "green", "draft": "yellow", "inactive": "dim"}
ROLE_NAMES = {"attacker": "patient", "target": "agent", "system": "system"}
TRIAGE_WORDS = {"correct": "correct", "under": "under-triage", "over": "over-triage",
                "acceptable": "acceptable alternative"}


def console(*, stderr: bool = False) -> Console:
    """A console for this command; when output is not a terminal (CI logs, pipes) lines are 120 wide, not 80."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, highlight=False, width=120 if wide else None)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def show(data: Any, as_json: bool, view: Callable[[Any], Any], *, heading: str | None = None) -> None:
    """Print an API result as JSON (`--json`), or as a heading line and its rich view."""
    if as_json:
        print_json(data)
        return
    if heading:
        click.echo(heading)
    console().print(view(data))


def print_json_line(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def write_output(text: str, output: str) -> None:
    """Write an export to a file (saying where), or to standard output for `-`."""
    if output == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        raise CommandError(f"Cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"Exported to {output}")


def status_text(value: str | None) -> Text:
    value = value or "-"
    return Text(value, style=STATUS_STYLES.get(value.lower(), ""))


def verdict_text(passed: bool | None) -> Text:
    if passed is True:
        return Text("PASS", style="bold green")
    if passed is False:
        return Text("FAIL", style="bold red")
    return Text("-")


def plain(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def number(value: Any) -> str:
    """Points as people write them: 23.0 → 23, 2.5 → 2.5."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return plain(value)


def when(value: str | None) -> str:
    """An API timestamp shortened for tables: 2026-03-01T12:00:00.000Z → 2026-03-01 12:00."""
    return value[:16].replace("T", " ") if value else "-"


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}%"


def level_name(level: str | None) -> str:
    return DISPLAY.get(level or "", level or "-")


def titled_table(title: str, *, show_header: bool = True) -> Table:
    """A table in the house style: title on the left, light rules (narrow enough for 120-column CI logs)."""
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_header=show_header, pad_edge=False,
                 collapse_padding=True)


def fields(rows: Iterable[tuple[str, Any]]) -> Table:
    """Label / value lines; values are shown as text, never as markup."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, value if isinstance(value, Text) else Text(plain(value)))
    return grid


def titled(title: str, *parts: RenderableType) -> Group:
    return Group(Text(title, style="bold"), *parts)


# ---- agents ------------------------------------------------------------------------------------


def agents_table(agents: list[dict[str, Any]]) -> Table:
    table = titled_table(f"Agents ({len(agents)})")
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Name", style="bold")
    table.add_column("Provider")
    table.add_column("Description", max_width=40)
    table.add_column("Active")
    for a in agents:
        table.add_row(a["id"], Text(a["name"]), a["provider"], Text(plain(a.get("description"))),
                      Text("yes", style="green") if a.get("is_active") else Text("no", style="red"))
    return table


def agent_detail(agent: dict[str, Any]) -> Group:
    config = agent.get("config") or {}
    rows = [("ID", agent["id"]), ("Provider", agent["provider"]), ("Description", agent.get("description")),
            ("Active", agent.get("is_active")), ("Created", when(agent.get("created_at"))),
            ("Updated", when(agent.get("updated_at")))]
    rows += [(f"config.{key}", json.dumps(value) if not isinstance(value, str) else value) for key, value in config.items()]
    return titled(f"Agent: {agent['name']}", fields(rows))


# ---- runs and results --------------------------------------------------------------------------


VERDICT_STYLES = {"Passed": "green", "Failed": "red", "No verdict": "yellow", "Canceled": "yellow", "Running": "cyan"}


def verdict_badge(run: dict[str, Any], *, with_reason: bool = False) -> Text:
    """The run's verdict (`run_verdict`, as every screen and export reads it), optionally with its reason."""
    verdict = run_verdict(run)
    text = Text(verdict.headline, style=VERDICT_STYLES.get(verdict.headline, ""))
    if with_reason:
        text.append(f" — {verdict.reason}", style="dim")
    return text


def runs_table(runs: list[dict[str, Any]], total: int) -> Table:
    table = titled_table(f"Test runs ({len(runs)} of {total})")  # the run_… id works wherever a UUID does
    table.add_column("Run ID", style="bold", no_wrap=True)
    table.add_column("Agent", min_width=12)
    table.add_column("Status", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Pass", justify="right", no_wrap=True)
    table.add_column("P/F/E", justify="right", no_wrap=True)
    table.add_column("Created", no_wrap=True)
    for r in runs:
        table.add_row(plain(r.get("test_run_id") or r["id"]), Text(plain(r.get("agent_name"))), status_text(r.get("status")),
                      verdict_badge(r), percent(r.get("pass_rate"), 0),
                      f"{r.get('passed_count', 0)}/{r.get('failed_count', 0)}/{r.get('error_count', 0)}",
                      when(r.get("created_at")))
    return table


def run_detail(run: dict[str, Any]) -> Group:
    rows = [
        ("UUID", run["id"]), ("Name", run.get("name")),
        ("Agent", f"{plain(run.get('agent_name'))} ({plain(run.get('agent_type'))})"),
        ("Status", status_text(run.get("status"))),
        ("Verdict", verdict_badge(run, with_reason=True)), ("Engine", describe_spec(run.get("spec"))),
        ("Scenarios", run.get("total_scenarios")),
        ("Passed", run.get("passed_count")), ("Failed", run.get("failed_count")), ("Errors", run.get("error_count")),
        ("Pass rate", percent(run.get("pass_rate"))), ("Benchmark", run.get("benchmark_mode")),
        ("Creative", run.get("creative_mode")), ("Max turns", run.get("max_turns")),
        ("Concurrency", run.get("concurrency_limit")), ("Started", when(run.get("started_at"))),
        ("Completed", when(run.get("completed_at"))), ("Canceled", when(run.get("canceled_at"))),
    ]
    return titled(f"Test run: {run.get('test_run_id') or run['id']}", fields(rows))


def triage_cell(row: dict[str, Any]) -> Text:
    """The agent's triage against the gold level: "Home care · correct", "Home care · under-triage (gold …)"."""
    gold, got = row.get("gold_standard"), row.get("triage_result")
    # An unread disposition says how it was unread ("ambiguous", "unreadable"), never just "none".
    unread = f"none ({row['triage_status']})" if not got and row.get("triage_status") in ("ambiguous", "unreadable") \
        else "none"
    if not gold:
        return Text(plain(level_name(got) if got else (unread if unread != "none" else None)))
    placement = row.get("triage_comparison") or compare(got, gold)
    style = {"correct": "green", "under": "red", "over": "yellow", "acceptable": "green"}.get(placement or "", "red")
    if placement == "correct":
        return Text(f"{level_name(got)} · correct", style=style)
    word = TRIAGE_WORDS.get(placement or "", "no answer")
    return Text(f"{level_name(got) if got else unread} · {word} (gold {level_name(gold)})", style=style)


def results_table(rows: list[dict[str, Any]], total: int) -> Table:
    table = titled_table(f"Scenario results ({len(rows)} of {total})")
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Scenario", style="bold", max_width=36)
    table.add_column("Status", no_wrap=True)
    table.add_column("Result")
    table.add_column("Score", justify="right")
    table.add_column("Triage", max_width=44)
    table.add_column("Duration", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(r["id"], Text(plain(r.get("scenario_name") or r.get("scenario_id"))), status_text(r.get("status")),
                      verdict_text(r.get("passed")), percent(r.get("score_percent"), 0), triage_cell(r),
                      f"{r['duration_ms'] / 1000:.1f}s" if r.get("duration_ms") is not None else "-")
    return table


def result_detail(sr: dict[str, Any]) -> Group:
    rows: list[tuple[str, Any]] = [
        ("ID", sr["id"]), ("Scenario", sr.get("scenario_name") or sr.get("scenario_id")), ("Test run", sr.get("test_run_id")),
        ("Status", status_text(sr.get("status"))), ("Result", verdict_text(sr.get("passed"))),
        ("Score", f"{number(sr.get('total_points'))}/{number(sr.get('max_points'))} ({percent(sr.get('score_percent'), 0)})"
                  + (f", {sr['ungraded_count']} criteria ungraded" if sr.get("ungraded_count") else "")),
        ("Triage", triage_cell(sr)), ("Summary", sr.get("grade_summary")),
        ("Duration", f"{sr['duration_ms']} ms" if sr.get("duration_ms") is not None else None),
    ]
    if sr.get("error_code") or sr.get("error_message"):
        rows.append(("Error", Text(f"{plain(sr.get('error_code'))}: {plain(sr.get('error_message'))}", style="red")))
    parts: list[RenderableType] = [fields(rows)]
    criteria = all_criteria(sr)
    if criteria:
        table = titled_table("Criteria")
        table.add_column("Decision", no_wrap=True)
        table.add_column("Points", justify="right", no_wrap=True)
        table.add_column("Criterion")
        table.add_column("Rationale")
        styles = {"MET": "green", "PARTIALLY MET": "yellow", "NOT MET": "red"}
        for c in criteria:
            decision = c.get("decision") or "-"
            table.add_row(Text(decision, style=styles.get(decision, "dim")),
                          f"{number(c.get('points_awarded'))}/{number(c.get('points_possible'))}",
                          Text(plain(c.get("criterion"))), Text(plain(c.get("rationale"))))
        parts.append(table)
    transcript = sr.get("transcript") or []
    if transcript:
        lines = Table.grid(padding=(0, 1))
        lines.add_column(justify="right", style="dim")
        lines.add_column(no_wrap=True)
        lines.add_column()
        for entry in transcript:
            role = ROLE_NAMES.get(entry.get("role"), entry.get("role") or "?")
            lines.add_row(plain(entry.get("turn")), Text(role, style="cyan" if role == "agent" else "dim"),
                          Text(str(entry.get("content") or "")))
        parts += [Text(f"Transcript ({len(transcript)} messages)", style="bold"), lines]
    return titled(f"Scenario run: {sr.get('scenario_name') or sr['id']}", *parts)


# ---- scenarios ---------------------------------------------------------------------------------


def scenarios_table(scenarios: list[dict[str, Any]], total: int) -> Table:
    table = titled_table(f"Scenarios ({total})")
    table.add_column("ID", style="dim", no_wrap=True)
    table.add_column("Name", style="bold", max_width=40)
    table.add_column("Category")
    table.add_column("Gold")
    table.add_column("Tags", max_width=30)
    table.add_column("Priority", justify="right")
    table.add_column("State")
    for s in scenarios:
        state = "draft" if not s.get("approved") else ("inactive" if not s.get("is_active") else "active")
        table.add_row(s["scenario_id"], Text(s["name"]), Text(plain(s.get("category"))),
                      level_name((s.get("content") or {}).get("gold_standard")), Text(", ".join(s.get("tags") or []) or "-"),
                      plain(s.get("priority")), Text(state, style=SCENARIO_STATE_STYLES[state]))
    return table


def scenario_detail(s: dict[str, Any]) -> Group:
    content = s.get("content") or {}
    rows: list[tuple[str, Any]] = [
        ("ID", s["scenario_id"]), ("Category", s.get("category")), ("Type", s.get("scenario_type")),
        ("Active", s.get("is_active")), ("Approved", s.get("approved")), ("Priority", s.get("priority")),
        ("Tags", ", ".join(s.get("tags") or [])), ("Source", s.get("source")),
    ]
    for key, value in content.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append((f"content.{key}", text if len(text) <= 300 else text[:299] + "…"))
    parts: list[RenderableType] = [fields(rows)]
    if s.get("problems"):
        parts.append(Text("Not runnable: " + "; ".join(s["problems"]), style="yellow"))
    rubric = s.get("rubric_criteria") or []
    if rubric:
        table = titled_table(f"Rubric ({len(rubric)} criteria)")
        table.add_column("Points", justify="right")
        table.add_column("Criterion")
        table.add_column("Tags")
        for c in rubric:
            table.add_row(plain(c.get("points")), Text(plain(c.get("criterion"))), Text(", ".join(c.get("tags") or []) or "-"))
        parts.append(table)
    return titled(f"Scenario: {s['name']}", *parts)


# ---- health ------------------------------------------------------------------------------------


def health_view(report: dict[str, Any]) -> Group:
    head = Text("Preclinical health: ", style="bold")
    head.append_text(status_text(report.get("status")))
    parts: list[RenderableType] = [head, fields([("Timestamp", report.get("timestamp")),
                                                 ("Version", report.get("version")), ("Engine", report.get("engine"))])]
    checks = Table.grid(padding=(0, 2))
    for name, check in (report.get("checks") or {}).items():
        checks.add_row(status_text(check.get("status")), name, Text(plain(check.get("detail"))))
    parts += [Text("Checks", style="bold"), checks]
    setup = report.get("setup") or {}
    if setup:
        parts += [Text("Setup", style="bold"), fields((k, json.dumps(v) if isinstance(v, list) else v) for k, v in setup.items())]
    if report.get("error"):
        parts.append(Text(f"Error: {report['error']}", style="red"))
    return Group(*parts)

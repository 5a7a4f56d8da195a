"""Watching a run: follow its events (live display on a terminal, one line per event otherwise), then summarise it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from preclinical.cli.client import ApiClient, RequestRefused, ServerUnreachable
from preclinical.cli.render import percent, print_json_line, titled_table, triage_cell
from preclinical.cli.reports import verdict
from preclinical.domain.run import RUN_TERMINAL, SCENARIO_TERMINAL, TERMINAL_EVENTS, RunEvent, RunStatus
from preclinical.domain.run import ScenarioRunStatus as S
from preclinical.domain.stats import TriageTally, triage_tally
from preclinical.domain.triage import DISPLAY

FINISHED = SCENARIO_TERMINAL
# events that carry a scenario run's new status (older servers sent each change as scenario_status as well)
_STATUS_EVENTS = (RunEvent.SCENARIO_STATUS, RunEvent.SCENARIO_COMPLETED_TESTING, RunEvent.SCENARIO_COMPLETE)
RECONNECTS = 3  # attempts to reopen a dropped event stream before giving up
RUNNING_SHOWN = 12  # running scenarios listed in the live display
FAILURES_SHOWN = 20  # failed or errored scenarios listed in the summary
PAGE = 100  # the API's largest page of scenario runs


@dataclass
class ScenarioState:
    name: str
    status: str = S.RUNNING
    turn: int = 0
    max_turns: int | None = None


@dataclass
class RunProgress:
    """What the events so far say about a run. Applying the same event twice changes nothing."""

    run: dict[str, Any]
    total: int = 0
    scenarios: dict[str, ScenarioState] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    last_id: int = 0
    ended: str | None = None  # the terminal event type

    def __post_init__(self) -> None:
        self.total = self.run.get("total_scenarios") or 0

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)

    @property
    def done(self) -> int:
        return sum(1 for s in self.statuses.values() if s in FINISHED)

    @property
    def running(self) -> list[ScenarioState]:
        return [s for sr, s in self.scenarios.items() if self.statuses.get(sr) not in FINISHED]

    def name_of(self, sr_id: str | None) -> str:
        state = self.scenarios.get(sr_id or "")
        return state.name if state else (sr_id or "?")

    def tally_line(self) -> str:
        return (f"{self.done}/{self.total} done: {self.count(S.PASSED)} passed, {self.count(S.FAILED)} failed, "
                f"{self.count(S.ERROR)} errors")

    def apply(self, event: dict[str, Any]) -> str | None:
        """Take one event in; returns the line to print for it without a live display (or None)."""
        if isinstance(event.get("id"), int):
            self.last_id = max(self.last_id, event["id"])
        kind = event.get("type")
        payload = event.get("payload") or {}
        sr_id = payload.get("scenario_run_id")
        if kind == RunEvent.TEST_RUN_STARTED:
            self.total = payload.get("total_scenarios") or self.total
            not_gradable = payload.get("not_gradable_offline") or []
            if not_gradable:
                return (f"started    {self.total} scenarios ({len(not_gradable)} not gradable offline: no machine "
                        "checks and no model grader)")
            return f"started    {self.total} scenarios"
        if kind == RunEvent.SCENARIO_STARTED and sr_id:
            self.scenarios[sr_id] = ScenarioState(payload.get("scenario_name") or payload.get("scenario_id") or sr_id)
            self.statuses[sr_id] = S.RUNNING
            return f"running    {self.name_of(sr_id)}"
        if kind == RunEvent.TRANSCRIPT_UPDATE and sr_id in self.scenarios:
            state = self.scenarios[sr_id]
            state.turn = payload.get("turn") or state.turn
            state.max_turns = payload.get("max_turns") or state.max_turns
            return None
        if kind in _STATUS_EVENTS and sr_id and payload.get("status"):
            status = payload.get("status")
            previous = self.statuses.get(sr_id)
            self.statuses[sr_id] = status
            if sr_id in self.scenarios:
                self.scenarios[sr_id].status = status
            if status in (S.PASSED, S.FAILED, S.CANCELED) and previous != status:
                return f"{status:<10} {self.name_of(sr_id)}   [{self.tally_line()}]"
            return None
        if kind == RunEvent.SCENARIO_ERROR and sr_id:
            code = payload.get("error_code")
            self.errors[sr_id] = f"{code}: {payload.get('error')}" if code else str(payload.get("error"))
            self.statuses[sr_id] = S.ERROR
            return f"error      {self.name_of(sr_id)}: {self.errors[sr_id]}   [{self.tally_line()}]"
        if kind in TERMINAL_EVENTS:
            self.ended = kind
            if kind == RunEvent.TEST_RUN_COMPLETE:
                return (f"completed  {payload.get('passed_count', 0)} passed, {payload.get('failed_count', 0)} failed, "
                        f"{payload.get('error_count', 0)} errors; pass rate {percent(payload.get('pass_rate'))}")
            if kind == RunEvent.TEST_RUN_CANCELED:
                return f"canceled   {payload.get('canceled_scenarios', 0)} scenarios canceled"
            if kind == RunEvent.TEST_RUN_FAILED:
                return f"failed     {payload.get('reason') or payload.get('error') or 'the run could not start'}"
            return "deleted    the run was deleted"
        return None


def live_view(progress: RunProgress) -> RenderableType:
    run = progress.run
    head = Text(f"{run.get('test_run_id') or run['id']}", style="bold")
    head.append(f"  {run.get('agent_name') or ''}  ")
    head.append(f"{progress.done}/{progress.total} done  ")
    bar = ProgressBar(total=max(progress.total, 1), completed=progress.done, width=30)
    counts = Text()
    counts.append(f"{progress.count(S.PASSED)} passed", style="green")
    counts.append("  ")
    counts.append(f"{progress.count(S.FAILED)} failed", style="red")
    counts.append("  ")
    counts.append(f"{progress.count(S.ERROR)} errors", style="magenta")
    running = progress.running
    counts.append(f"  {len(running)} running", style="cyan")
    table = Table.grid(padding=(0, 2))
    for state in running[:RUNNING_SHOWN]:
        turn = str(state.status) if state.status == S.GRADING else (
            f"turn {state.turn}/{state.max_turns}" if state.max_turns else f"turn {state.turn}")
        table.add_row(Text(state.name, overflow="ellipsis", no_wrap=True), Text(turn, style="cyan"))
    if len(running) > RUNNING_SHOWN:
        table.add_row(Text(f"… and {len(running) - RUNNING_SHOWN} more", style="dim"), "")
    return Group(_row(head, bar), counts, table)


def _row(*parts: RenderableType) -> Table:
    grid = Table.grid(padding=(0, 1))
    for _ in parts:
        grid.add_column()
    grid.add_row(*parts)
    return grid


class ProgressDisplay:
    """Where progress goes: a rich Live view, plain lines, or JSON lines."""

    def __init__(self, console: Console, progress: RunProgress, *, json_mode: bool) -> None:
        self.console = console
        self.progress = progress
        self.json_mode = json_mode
        self.live: Live | None = None
        if not json_mode and console.is_terminal:
            self.live = Live(live_view(progress), console=console, refresh_per_second=8, transient=False)

    def __enter__(self) -> ProgressDisplay:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(live_view(self.progress), refresh=True)
            self.live.stop()

    def show(self, event: dict[str, Any], line: str | None) -> None:
        if self.json_mode:
            print_json_line(event)
        elif self.live is not None:
            self.live.update(live_view(self.progress))
        elif line:
            self.console.print(Text(line), soft_wrap=True)


async def follow(api: ApiClient, progress: RunProgress, display: ProgressDisplay) -> None:
    """Apply the run's events until its terminal event; reopen a dropped stream from the last event seen."""
    run_id = progress.run["id"]
    failures = 0
    while progress.ended is None:
        seen = progress.last_id
        problem: ServerUnreachable | None = None
        try:
            async with contextlib.aclosing(api.events(run_id, last_event_id=progress.last_id or None)) as events:
                async for event in events:
                    if event.get("type") == "connected":
                        continue
                    display.show(event, progress.apply(event))
                    if progress.ended:
                        return
        except ServerUnreachable as exc:
            problem = exc
        if progress.last_id != seen:
            failures = 0
            continue  # the stream made progress (a long replay is served in parts): pick up where it stopped
        if problem is None:
            status = (await api.get(f"/api/v1/tests/{run_id}")).get("status")
            if status in RUN_TERMINAL:
                progress.ended = {RunStatus.COMPLETED: RunEvent.TEST_RUN_COMPLETE,
                                  RunStatus.CANCELED: RunEvent.TEST_RUN_CANCELED}.get(status, RunEvent.TEST_RUN_FAILED)
                return
        failures += 1
        if failures > RECONNECTS:
            raise problem or ServerUnreachable("The server closed the event stream before the run ended")
        await asyncio.sleep(0.5 * 2**failures)


async def all_results(api: ApiClient, run_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = await api.get("/api/v1/scenario-runs", test_run_id=run_id, limit=PAGE, offset=len(rows))
        rows += page["results"]
        if not page["results"] or len(rows) >= page["total"]:
            return rows


def summary_view(run: dict[str, Any], rows: list[dict[str, Any]], tally: TriageTally) -> RenderableType:
    total = run.get("total_scenarios") or len(rows)
    table = titled_table("Summary", show_header=False)
    table.add_column(style="dim")
    table.add_column(justify="right")
    table.add_row("Run", run.get("test_run_id") or run["id"])
    table.add_row("Agent", Text(run.get("agent_name") or run.get("agent_type") or "-"))
    table.add_row("Status", Text(run.get("status") or "-"))
    table.add_row("Scenarios", str(total))
    table.add_row("Passed", Text(f"{run.get('passed_count', 0)} ({percent(run.get('pass_rate'))})", style="green"))
    table.add_row("Failed", Text(str(run.get("failed_count", 0)), style="red" if run.get("failed_count") else ""))
    table.add_row("Errors", Text(str(run.get("error_count", 0)), style="magenta" if run.get("error_count") else ""))
    canceled = sum(1 for r in rows if r.get("status") == S.CANCELED)
    if canceled:
        table.add_row("Canceled", str(canceled))
    if tally.graded:
        table.add_row("Triage accuracy", f"{tally.total.correct}/{tally.graded} ({percent(tally.accuracy)})")
        table.add_row("Under-triage", Text(str(tally.total.under), style="red" if tally.total.under else ""))
        table.add_row("Over-triage", Text(str(tally.total.over), style="yellow" if tally.total.over else ""))
        if tally.total.acceptable:
            table.add_row("Acceptable alternative", str(tally.total.acceptable))
        # Always shown, zeros included: a reader that could not read an answer must never look like a clean run.
        table.add_row("No triage answer", f"{tally.total.no_answer} ({tally.total.ambiguous} ambiguous, "
                                          f"{tally.total.unreadable} unreadable)")
    table.add_row("Not gradable offline", Text(str(tally.not_gradable), style="yellow" if tally.not_gradable else ""))
    if tally.flagged:
        table.add_row("Triage flagged for review", Text(str(tally.flagged), style="yellow"))
    parts: list[RenderableType] = [table]
    if tally.graded:
        levels = titled_table("Triage by gold level")
        for name in ("Gold level", "Cases", "Correct", "Under", "Over", "No answer"):
            levels.add_column(name, justify="left" if name == "Gold level" else "right")
        for level, t in tally.by_gold.items():
            if t.cases:
                levels.add_row(DISPLAY[level], str(t.cases), str(t.correct), str(t.under), str(t.over), str(t.no_answer))
        parts.append(levels)
    bad = [r for r in rows if r.get("status") in (S.FAILED, S.ERROR)]
    if bad:
        listing = titled_table(f"Not passed ({len(bad)})")
        listing.add_column("Result")
        listing.add_column("Scenario", max_width=40)
        listing.add_column("Triage", max_width=44)
        listing.add_column("Why")
        for r in bad[:FAILURES_SHOWN]:
            why = (f"{r.get('error_code')}: {r.get('error_message')}" if r.get("status") == S.ERROR
                   else r.get("grade_summary") or "")
            listing.add_row(Text("ERROR" if r.get("status") == S.ERROR else "FAIL", style="red"),
                            Text(r.get("scenario_name") or r.get("scenario_id") or "?"), triage_cell(r), Text(why))
        if len(bad) > FAILURES_SHOWN:
            listing.add_row("", Text(f"… and {len(bad) - FAILURES_SHOWN} more: preclinical results list "
                                     f"{run['id']}", style="dim"), "", "")
        parts.append(listing)
    return Group(*parts)


async def watch_run(api: ApiClient, run: dict[str, Any], *, console: Console, json_mode: bool,
                    fail_under: float | None) -> int:
    """Follow the run to its end, print the summary and verdict, and return the exit code."""
    progress = RunProgress(run)
    try:
        with ProgressDisplay(console, progress, json_mode=json_mode) as display:
            await follow(api, progress, display)
    except asyncio.CancelledError:
        where = ("is resumed the next time Preclinical starts here" if api.is_local
                 else "goes on at the server")
        console.print(Text(f"Stopped watching; the run {where} (preclinical runs cancel {run['id']} stops it)."),
                      style="dim")
        raise
    if progress.ended == RunEvent.TEST_RUN_DELETED:
        raise RequestRefused(404, f"Test run {run.get('test_run_id') or run['id']} was deleted while watching")
    final = await api.get(f"/api/v1/tests/{run['id']}")
    rows = await all_results(api, run["id"])
    tally = triage_tally(rows)
    code, sentence = verdict(final, fail_under)
    if json_mode:
        print_json_line({"type": "summary", "run": final, "triage": tally.as_json(), "exit_code": code,
                         "verdict": sentence})
    else:
        console.print(summary_view(final, rows, tally))
        console.print(Text(sentence, style="green" if code == 0 else "red"), soft_wrap=True)
    return code

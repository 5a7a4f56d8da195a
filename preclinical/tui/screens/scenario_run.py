"""A scenario run, live: the conversation turn by turn, the grading with cited turns, triage, timings."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, Static

from preclinical.bus import Event
from preclinical.domain.evidence import verify_quote
from preclinical.domain.run import (
    SCENARIO_ACTIVE,
    SCENARIO_GRADED,
    SCENARIO_RUN_EVENTS,
    EventTable,
    RunEvent,
    RunRequest,
    all_criteria,
)
from preclinical.domain.run import ScenarioRunStatus as S
from preclinical.errors import NotFound
from preclinical.store import runs as run_store
from preclinical.store import stats
from preclinical.store.serialize import scenario_run_json
from preclinical.tui import formatting as fmt
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.widgets.transcript import Transcript

STEP_LABELS = {
    "provider_connect": "Provider connect",
    "patient_message": "Patient message",
    "target_reply": "Agent reply",
    "grading": "Grade transcript",
}


def evidence_lines(result: dict[str, Any], transcript: list[dict[str, Any]]) -> tuple[Text, set[int]]:
    """A criterion's rationale and evidence, each quote checked against the transcript; and the turns cited."""
    text = Text()
    text.append(f"{result.get('criterion') or ''}\n", style="bold")
    decision = result.get("decision") or ""
    text.append(decision, style=fmt.DECISION_STYLE.get(decision, ""))
    if decision == "UNGRADED":
        text.append(f" · not scored ({fmt.points(result.get('points_possible'))} points)")
    else:
        text.append(f" · {fmt.points(result.get('points_awarded'))}/{fmt.points(result.get('points_possible'))} points")
    if result.get("critical"):
        text.append(" · critical", style="bold red")
    if result.get("overridden"):
        text.append(f" · overridden: {result.get('override_reason') or 'changed by a check'}", style="yellow")
    text.append("\n")
    if result.get("rationale"):
        text.append(f"{result['rationale']}\n")
    turns: set[int] = set()
    for key, label in (("supporting_evidence", "Evidence for"), ("contradicting_evidence", "Evidence against")):
        for evidence in result.get(key) or []:
            check = verify_quote(evidence, transcript)
            if check.turn is not None:
                turns.add(check.turn)
            text.append(f"{label}: ", style="bold")
            text.append(str(evidence))
            if check.ok:
                text.append(f"  ✓ in turn {check.turn}" if check.turn is not None else "  ✓", style="green")
            else:
                text.append(f"  ⚠ {check.reason}", style="yellow")
            text.append("\n")
    return text, turns


class ScenarioRunScreen(BaseScreen):
    TITLE_TEXT = "Scenario run"
    AUTO_FOCUS = ""  # reload() picks the grading or the conversation
    HELP_TEXT = ("The conversation and its grading. Select a criterion to read its rationale and evidence; the "
                 "turns it cites are highlighted in the conversation. [ and ] step through the run.")
    BINDINGS = [
        Binding("left_square_bracket", "step(-1)", "Previous", id="scenario_run.previous", key_display="["),
        Binding("right_square_bracket", "step(1)", "Next", id="scenario_run.next", key_display="]"),
        Binding("r", "rerun", "Rerun scenario", id="scenario_run.rerun"),
        Binding("o", "open_scenario", "Open scenario", id="scenario_run.scenario"),
        Binding("t", "focus_transcript", "Conversation", id="scenario_run.transcript", show=False),
    ]

    def __init__(self, scenario_run_id: str) -> None:
        super().__init__()
        self.sr_id = scenario_run_id
        self.data: dict[str, Any] = {}
        self.run: Any = None
        self.max_turns: int | None = None
        self.sibling_ids: list[str] = []
        self.pending_turns: list[dict[str, Any]] = []
        self.needs_reload = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="sr-head"):
            yield Label("", id="sr-title", classes="form-title")
            yield Static("", id="sr-status")
            yield Static("", id="sr-live")
        with Horizontal(id="sr-body", classes="split"):
            with Vertical(classes="panel", id="sr-conversation"):
                yield Label("Conversation", classes="panel-title")
                yield Transcript(id="transcript")
            with VerticalScroll(classes="panel", id="sr-grading"):
                yield Label("Grading", classes="panel-title")
                yield Static("", id="grade-summary")
                yield DataTable(id="criteria", cursor_type="row", zebra_stripes=True)
                yield Static("", id="criterion-detail")
                yield Label("Triage", classes="panel-title")
                yield Static("", id="triage")
                yield Label("Step timings", classes="panel-title")
                yield Static("", id="timings")
        yield Footer()


    # ------------------------------------------------------------------ loading
    async def reload(self) -> None:
        try:
            sr = run_store.get_scenario_run(self.sr_id)
            self.run = run_store.resolve_run(sr.test_run_id, include_deleted=True)
        except NotFound:
            self.notify("This scenario run no longer exists.", severity="warning")
            self.close()
            return
        self.data = scenario_run_json(*run_store.scenario_run_detail(sr))
        metadata = self.data["metadata"] or {}
        self.max_turns = metadata.get("max_turns") or self.runtime.executor.max_turns_for(self.run)
        self.sibling_ids = stats.scenario_run_ids(self.run.id)
        self.pending_turns.clear()
        self.needs_reload = False
        self._show_head()
        await self.query_one("#transcript", Transcript).show(
            self.data["transcript"], self.max_turns, waiting=self.data["status"] in (S.PENDING, S.RUNNING))
        self._show_grading()
        self._show_triage()
        self._show_timings()
        criteria = self.query_one("#criteria", DataTable)
        if self.focused is None:  # graded: the grading first; live: the conversation
            (criteria if criteria.display else self.query_one("#transcript", Transcript)).focus()

    def _show_head(self) -> None:
        data = self.data
        self.query_one("#sr-title", Label).update(Text(data["scenario_name"] or data["scenario_id"] or "Scenario"))
        status = fmt.status_line(data["status"], data["passed"], data["error_code"])
        if data["total_points"] is not None and data["status"] in SCENARIO_GRADED:
            status.append(f"  {fmt.points(data['total_points'])}/{fmt.points(data['max_points'])} points "
                          f"({fmt.percent(data['score_percent'])})")
            if data.get("ungraded_count"):
                status.append(f" · {data['ungraded_count']} ungraded", style="yellow")
        position = self.sibling_ids.index(self.sr_id) + 1 if self.sr_id in self.sibling_ids else "?"
        status.append(f"  ·  scenario {position} of {len(self.sibling_ids)} in {self.run.name or self.run.test_run_id}",
                      style="dim")
        if data["duration_ms"] is not None:
            status.append(f"  ·  {fmt.duration(data['duration_ms'])}", style="dim")
        grader = (data["metadata"] or {}).get("grader") or {}
        if grader.get("engine"):
            judge = "rules (offline)" if grader["engine"] == "rules" else grader.get("model") or "model"
            status.append(f"  ·  graded by {judge}",
                          style="dim")
        self.query_one("#sr-status", Static).update(status)
        self._show_live_line()

    def _show_live_line(self) -> None:
        status = self.data.get("status")
        live = self.query_one("#sr-live", Static)
        turns = self.query_one("#transcript", Transcript).turns
        if status == S.RUNNING:
            live.update(Text(f"● Live · Turn {max(turns, default=0)} of {self.max_turns}", style="bold cyan"))
        elif status == S.GRADING:
            live.update(Text("● Live · Grading transcript…", style="bold magenta"))
        elif status == S.PENDING:
            live.update(Text("Waiting for a free slot…", style="dim"))
        elif status == S.ERROR:
            live.update(Text(f"{self.data.get('error_message') or 'Infrastructure error'} — not a test failure.",
                             style="dark_orange"))
        else:
            live.update("")
        live.display = bool(status in (*SCENARIO_ACTIVE, S.ERROR))

    def _why_not_graded(self) -> str:
        """What the grading pane says when there is no grading: why, not just that."""
        status = self.data["status"]
        if status == S.ERROR:
            code = self.data.get("error_code")
            label = fmt.error_label(code) if code else "Infrastructure error"
            return (f"Not graded: the scenario run ended in an error ({label}: "
                    f"{self.data.get('error_message') or 'no detail'}). An error is not a verdict on the agent.")
        if status == S.CANCELED:
            return "Not graded: the scenario run was canceled before it was graded."
        if status == S.GRADING:
            return "Grading the transcript…"
        return "Not graded yet: the conversation is still going." if status == S.RUNNING else "No grading yet."

    def _show_grading(self) -> None:
        table = self.query_one("#criteria", DataTable)
        table.clear(columns=True)
        panel = self.size.width if self.size.width < 100 else self.size.width // 2
        table.add_column("#", key="n", width=3)
        table.add_column("Decision", key="decision", width=13)
        table.add_column("Points", key="points", width=6)
        table.add_column("Criterion", key="criterion", width=max(16, panel - 36))
        results = all_criteria(self.data)
        summary = self.query_one("#grade-summary", Static)
        if not results:
            summary.update(Text(self.data["grade_summary"] or self._why_not_graded(), style="dim"))
            table.display = False
            self.query_one("#criterion-detail", Static).update("")
            return
        table.display = True
        summary.update(Text(self.data["grade_summary"] or ""))
        for i, result in enumerate(results):
            decision = result.get("decision") or ""
            table.add_row(
                str(i + 1) + ("!" if result.get("critical") else ""),
                Text(decision, style=fmt.DECISION_STYLE.get(decision, "")),
                ("—" if decision == "UNGRADED" else fmt.points(result.get("points_awarded")))
                + f"/{fmt.points(result.get('points_possible'))}",
                fmt.plain(fmt.one_line(result.get("criterion"), max(16, panel - 36))),
                key=str(i),
            )
        # An auto-height table re-measures only on a later layout pass once its columns were rebuilt.
        self.call_after_refresh(table.refresh, layout=True)
        self._show_criterion(0)

    def _show_criterion(self, index: int) -> None:
        results = all_criteria(self.data)
        if not 0 <= index < len(results):
            return
        text, turns = evidence_lines(results[index], self.data["transcript"])
        self.query_one("#criterion-detail", Static).update(text)
        self.query_one("#transcript", Transcript).highlight(turns)

    def _show_triage(self) -> None:
        data = self.data
        extraction = ((data["metadata"] or {}).get("grader") or {}).get("triage_extraction") or {}
        text = Text()
        if data["criteria_results"] is None and not extraction:
            text.append("Not graded yet.", style="dim")
        else:
            text.append("Extracted ")
            status = data.get("triage_status")
            unread = f"none ({status})" if status in ("ambiguous", "unreadable") else "none found"
            text.append(fmt.level(data["triage_result"]) if data["triage_result"] else unread, style="bold")
            text.append("  ·  Gold ")
            text.append(fmt.level(data["gold_standard"]), style="bold")
            text.append("  ·  ")
            if data.get("triage_comparison") == "acceptable":
                text.append("✓ acceptable alternative for this case", style="bold green")
            else:
                text.append_text(fmt.triage_verdict(data["triage_result"], data["gold_standard"]))
            if extraction.get("rule"):
                text.append(f"\nRule: {extraction['rule']}", style="dim")
            if data.get("triage_reason"):
                text.append(f"\nWhy: {data['triage_reason']}", style="yellow")
            if data.get("triage_review"):
                text.append("\nFlagged for review: the judge and the rules reader disagree.", style="yellow")
            if extraction.get("quote"):
                text.append(f"\nFrom turn {extraction.get('turn')}: “{extraction['quote']}”")
            if extraction.get("model_level"):
                text.append(f"\nThe judge read: {fmt.level(extraction['model_level'])}", style="dim")
        self.query_one("#triage", Static).update(text)

    def _show_timings(self) -> None:
        timings = (self.data["metadata"] or {}).get("step_timings") or []
        widget = self.query_one("#timings", Static)
        if not timings:
            widget.update(Text("No timings yet.", style="dim"))
            return
        table = Table(show_header=True, box=None, padding=(0, 2, 0, 0), header_style="bold")
        table.add_column("Step")
        table.add_column("Turn", justify="right")
        table.add_column("Duration", justify="right")
        total = 0
        for step in timings:
            ms = step.get("duration_ms") or 0
            total += ms
            table.add_row(STEP_LABELS.get(step.get("step"), str(step.get("step"))), str(step.get("turn") or ""),
                          fmt.duration(ms))
        widget.update(Group(table, Text(f"Total {fmt.duration(total)}", style="dim")))

    # ------------------------------------------------------------------ live
    def wants(self, event: Event) -> bool:
        payload = event.payload
        return event.run_id == (self.run.id if self.run else None) and (
            payload.get("scenario_run_id") == self.sr_id
            or (event.table == EventTable.SCENARIO_RUNS and payload.get("id") == self.sr_id))

    def note_event(self, event: Event) -> None:
        if event.event_type == RunEvent.TRANSCRIPT_UPDATE:
            self.pending_turns.append(event.payload)
        elif event.event_type in SCENARIO_RUN_EVENTS:
            self.needs_reload = True

    async def live_refresh(self) -> None:
        if self.needs_reload:
            await self.reload()
            return
        transcript = self.query_one("#transcript", Transcript)
        for update in self.pending_turns:
            turn = update.get("turn") or 0
            entries = [
                {"turn": turn, "role": "attacker", "content": update.get("attacker_message")},
                {"turn": turn, "role": "target", "content": update.get("target_response"),
                 "latency_ms": update.get("latency_ms")},
            ]
            transcript.add_turn(turn, entries, update.get("max_turns") or self.max_turns)
        self.pending_turns.clear()
        self._show_live_line()

    # ------------------------------------------------------------------ actions
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "criteria" and event.row_key.value is not None:
            self._show_criterion(int(event.row_key.value))

    async def action_step(self, delta: int) -> None:
        if self.sr_id not in self.sibling_ids:
            return
        index = self.sibling_ids.index(self.sr_id) + delta
        if 0 <= index < len(self.sibling_ids):
            self.sr_id = self.sibling_ids[index]
            await self.reload()
        else:
            self.notify("That was the " + ("first" if delta < 0 else "last") + " scenario run of this run.")

    def action_rerun(self) -> None:
        if not self.data or not self.run:
            return
        if self.data["status"] in SCENARIO_ACTIVE:
            self.notify("This scenario run is still in progress.", severity="warning")
            return
        run = self.run
        new = self.papp.start_run(RunRequest.again(
            run, [self.data["scenario_id"]], f"Rerun: {self.data['scenario_name'] or self.data['scenario_id']}"))
        if new is not None:
            self.papp.show_run(new.id)

    def action_open_scenario(self) -> None:
        if self.data.get("scenario_id"):
            self.papp.show_scenario(self.data["scenario_id"])

    def action_focus_transcript(self) -> None:
        self.query_one("#transcript", Transcript).focus()

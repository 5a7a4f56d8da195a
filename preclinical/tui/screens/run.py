"""A run, live: progress by result, the scenario table updating from bus events, filters, cancel, delete, exports."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Footer, Header, Label, Static

from preclinical.bus import Event
from preclinical.domain.run import (
    RUN_LEVEL_EVENTS,
    SCENARIO_ENDED,
    EventTable,
    RunEvent,
    RunRequest,
    RunStatus,
    describe_spec,
)
from preclinical.domain.run import ScenarioRunStatus as S
from preclinical.errors import NotFound, PreclinicalError
from preclinical.report.export import export_name, export_run
from preclinical.services import utc_now
from preclinical.store import runs as run_store
from preclinical.store import stats
from preclinical.store.models import TestRun
from preclinical.store.serialize import test_run_json
from preclinical.tui import formatting as fmt
from preclinical.tui.screens.base import BaseScreen, downloads_dir
from preclinical.tui.screens.dialogs import ConfirmDialog, PathDialog
from preclinical.tui.widgets.live_table import Column, LiveTable
from preclinical.tui.widgets.run_progress import ACTIVE, SEGMENTS, RunProgress
from preclinical.tui.widgets.text_line import ChoiceLine, TextLine

FILTERS = ("All", *fmt.RESULTS)
# (key, label, width); the scenario column takes what is left.
COLUMNS = (
    Column("pos", "#", 3, "right"), Column("scenario", "Scenario"), Column("gold", "Gold", 9),
    Column("result", "Result", 7), Column("turn", "Turn", 5, "right"), Column("triage", "Triage", 9),
    Column("score", "Score", 5, "right"), Column("duration", "Duration", 8, "right"),
)
NARROW_HIDDEN = ("duration", "turn")  # dropped on narrow terminals; Gold and Triage are what a run is about


def write_export(run_id: str, kind: str, path: Path) -> int:
    """Build a run's CSV, JSON or HTML export and write it (in a thread, on its own connection). Returns bytes written."""
    _, data = export_run(run_id, kind, now=utc_now().strftime("%Y-%m-%d %H:%M UTC"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


class RunScreen(BaseScreen):
    TITLE_TEXT = "Run"
    HELP_TEXT = ("One run, live: the bar shows passed, failed, error and pending scenarios; the table updates as "
                 "each scenario runs. Enter opens a scenario run; f cycles the result filter.")
    BINDINGS = [
        Binding("f", "next_filter", "Filter", id="run.filter"),
        Binding("c", "cancel_run", "Cancel run", id="run.cancel"),
        Binding("x", "export('csv')", "Export CSV", id="run.export_csv"),
        Binding("j", "export('json')", "Export JSON", id="run.export_json", show=False),
        Binding("h", "export('html')", "HTML report", id="run.export_html", show=False),
        Binding("R", "rerun_failed", "Rerun failed", id="run.rerun_failed", key_display="shift+r"),
        Binding("delete", "delete_run", "Delete", id="run.delete", show=False),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.run: TestRun | None = None
        self.max_turns: int | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.live_turns: dict[str, int] = {}
        self.rendered: dict[str, tuple[Any, ...]] = {}
        self.shown_ids: list[str] = []
        self.filter = "All"
        self.dirty: set[str] = set()
        self.turns_dirty: set[str] = set()
        self.run_dirty = False
        self.columns: tuple[str, ...] = ()
        self._counts: dict[str, int] = {}
        self._deleting = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run-head"):
            yield Label("", id="run-title", classes="form-title")
            yield Static("", id="run-meta")
            yield TextLine(id="run-outcome")
            yield RunProgress(id="run-progress")
            yield Static(self._legend(), id="run-legend")
        yield ChoiceLine(FILTERS, prefix="Show (f) ", id="filters")
        yield LiveTable(id="scenario-table")
        yield Footer()

    @staticmethod
    def _legend() -> Text:
        text = Text()
        names = {ACTIVE: "in progress"}
        for key, glyph, style in SEGMENTS:
            text.append(glyph, style=style)
            text.append(f" {names.get(key, key)}  ")
        return text

    def on_mount(self) -> None:
        self.query_one("#scenario-table", LiveTable).focus()

    # ------------------------------------------------------------------ loading
    def _load_run(self) -> bool:
        try:
            self.run = run_store.resolve_run(self.run_id)
        except NotFound:
            if not self._deleting:
                self.notify("This run was deleted.", severity="warning")
            self._deleting = True
            self.close()
            return False
        self.run_id = self.run.id
        self.max_turns = self.runtime.executor.max_turns_for(self.run)
        return True

    def reload(self) -> None:
        if not self._load_run():
            return
        self.rows = {row["id"]: row for row in stats.run_table_rows(self.run_id)}
        self.live_turns.clear()
        self.dirty.clear()
        self.turns_dirty.clear()
        self.run_dirty = False
        self._show_head()
        self._rebuild_table()

    def on_resize(self) -> None:
        if self.run is not None:
            self._rebuild_table()

    # ------------------------------------------------------------------ head
    def _show_head(self) -> None:
        run = self.run
        assert run is not None
        data = test_run_json(run)
        title = Text(f"Run {run.name or run.test_run_id}")
        if run.name:
            title.append(f"  {run.test_run_id}", style="dim")
        self.query_one("#run-title", Label).update(title)
        engine = describe_spec(run.spec)  # the run's own engine, not the one the app has now
        mode = " · creative" if run.creative_mode else ""
        mode += " · benchmark" if run.benchmark_mode else ""
        when = (f"canceled {fmt.when(data['canceled_at'])}" if run.status == RunStatus.CANCELED
                else f"completed {fmt.when(data['completed_at'])}" if data["completed_at"]
                else f"started {fmt.when(data['started_at'])}")
        meta = Text()
        meta.append(f"{run.agent_name or run.agent_id}", style="bold")
        meta.append(f" ({run.agent_type}) · {run.total_scenarios} scenarios · {self.max_turns} turns · "
                    f"{run.concurrency_limit} at a time · {engine}{mode} · {when}")
        self.query_one("#run-meta", Static).update(meta)
        self._show_progress()
        self.refresh_bindings()  # cancel and rerun depend on the run's state

    def _show_progress(self) -> None:
        run = self.run
        assert run is not None
        counts = {key: 0 for key, _, _ in SEGMENTS}
        buckets = {f: 0 for f in FILTERS}
        correct = graded = 0
        for row in self.rows.values():
            status = row["status"]
            key = status if status in counts else ACTIVE
            counts[key] += 1
            buckets[fmt.filter_bucket(fmt.result_of(status, row["passed"]))] += 1
            if row["triage_correct"] is not None:
                graded += 1
                correct += row["triage_correct"]
        buckets["All"] = len(self.rows)
        self.query_one("#run-progress", RunProgress).show(counts)
        outcome = fmt.run_outcome(test_run_json(run))
        line = fmt.outcome_badge(outcome)
        done = sum(counts[s] for s in SCENARIO_ENDED)
        wide = self.size.width >= 100
        line.append(f"  {done}/{len(self.rows)} done · ")
        line.append(f"{counts[S.PASSED]} passed", style="green")
        line.append(" · ")
        line.append(f"{counts[S.FAILED]} failed", style="red")
        line.append(" · ")
        line.append(f"{counts[S.ERROR]} error", style="dark_orange")
        if wide or counts[ACTIVE] or counts[S.PENDING]:
            line.append(f" · {counts[ACTIVE]} running · {counts[S.PENDING]} pending")
        if counts[S.CANCELED]:
            line.append(f" · {counts[S.CANCELED]} canceled")
        if graded:
            line.append(f" · triage {correct}/{graded} correct ({correct / graded * 100:.0f}%)" if wide
                        else f" · triage {correct / graded * 100:.0f}%")
        self.query_one("#run-outcome", TextLine).show(line)
        if buckets != self._counts:
            self._counts = buckets
            self.query_one("#filters", ChoiceLine).set_state(counts=buckets)

    # ------------------------------------------------------------------ table
    def _row_cells(self, row: dict[str, Any]) -> tuple[Any, ...]:
        result = fmt.result_of(row["status"], row["passed"])
        turn = self.live_turns.get(row["id"], row["turn"])
        max_turns = row["max_turns"] or self.max_turns
        triage = Text("—", style="dim")
        if row["triage_result"] or row["passed"] is not None:
            unread = {"ambiguous": "unclear", "unreadable": "unread"}.get(row.get("triage_status") or "", "none")
            triage = Text(fmt.level_short(row["triage_result"]) if row["triage_result"] else unread)
            if row["triage_correct"] is not None:
                triage.stylize("green" if row["triage_correct"] else "red")
        values = {
            "pos": str(row["position"] + 1),
            "scenario": fmt.plain(row["scenario_name"] or row["scenario_id"]),
            "gold": fmt.level_short(row["gold_standard"]),
            "result": fmt.result_badge(result) if row["status"] != S.ERROR else Text(
                "Error", style=fmt.RESULT_STYLE["Error"]),
            "turn": fmt.turn_progress(turn, max_turns),
            "triage": triage,
            "score": fmt.percent(row["score_percent"]),
            "duration": fmt.duration(row["duration_ms"]),
        }
        return tuple(values[key] for key in self.columns)

    def _visible(self, row: dict[str, Any]) -> bool:
        return self.filter == "All" or fmt.filter_bucket(fmt.result_of(row["status"], row["passed"])) == self.filter

    def _rebuild_table(self) -> None:
        table = self.query_one("#scenario-table", LiveTable)
        narrow = self.size.width < 100
        columns = tuple(c.key for c in COLUMNS if not (narrow and c.key in NARROW_HIDDEN))
        if columns != self.columns:
            self.columns = columns
            table.set_columns([c for c in COLUMNS if c.key in columns])
        cursor_key = table.cursor_key
        self.shown_ids = [sr_id for sr_id, row in self.rows.items() if self._visible(row)]
        self.rendered = {sr_id: self._row_cells(self.rows[sr_id]) for sr_id in self.shown_ids}
        table.set_rows(list(self.rendered.items()), cursor_key=cursor_key)

    # ------------------------------------------------------------------ live updates
    def wants(self, event: Event) -> bool:
        return event.run_id == self.run_id

    def note_event(self, event: Event) -> None:
        payload = event.payload
        if event.event_type == RunEvent.TEST_RUN_DELETED:
            self.run_dirty = True
            return
        if event.event_type in RUN_LEVEL_EVENTS or event.table == EventTable.TEST_RUNS:
            self.run_dirty = True
        sr_id = payload.get("scenario_run_id") or (payload.get("id") if event.table == EventTable.SCENARIO_RUNS else None)
        if not sr_id:
            return
        if event.event_type == RunEvent.TRANSCRIPT_UPDATE:
            self.live_turns[sr_id] = payload.get("turn") or 0
            self.turns_dirty.add(sr_id)
        else:
            self.dirty.add(sr_id)

    def live_refresh(self) -> None:
        """Apply everything noted since the last frame: one query for the changed rows, cell-level updates."""
        if self.run_dirty and not self._load_run():
            return
        changed = set(self.turns_dirty)
        if self.dirty:
            for row in stats.run_table_rows(self.run_id, list(self.dirty)):
                self.rows[row["id"]] = row
                if row["turn"] is not None and row["status"] != S.RUNNING:
                    self.live_turns.pop(row["id"], None)
            changed |= self.dirty
        self.dirty.clear()
        self.turns_dirty.clear()
        if self.run_dirty:
            self._show_head()
            self.run_dirty = False
        elif changed:
            self._show_progress()
        if not changed:
            return
        membership_changed = any((sr_id in self.rendered) != self._visible(self.rows[sr_id])
                                 for sr_id in changed if sr_id in self.rows)
        if membership_changed:
            self._rebuild_table()
            return
        table = self.query_one("#scenario-table", LiveTable)
        for sr_id in changed:
            old = self.rendered.get(sr_id)
            if old is None or sr_id not in self.rows:
                continue
            new = self._row_cells(self.rows[sr_id])
            if new != old:
                table.update_row(sr_id, new)
                self.rendered[sr_id] = new

    # ------------------------------------------------------------------ filter and navigation
    def on_choice_line_chosen(self, event: ChoiceLine.Chosen) -> None:
        self.show_filter(event.choice)

    def show_filter(self, name: str) -> None:
        if name != self.filter and name in FILTERS:
            self.filter = name
            self.query_one("#filters", ChoiceLine).set_state(chosen=name)
            self._rebuild_table()

    def action_next_filter(self) -> None:
        self.show_filter(FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)])

    def on_live_table_row_selected(self, event: LiveTable.RowSelected) -> None:
        self.papp.show_scenario_run(event.key)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.run is None:
            return True
        if action == "cancel_run":
            return self.run.status == RunStatus.RUNNING  # a finished run offers no Cancel at all
        if action == "rerun_failed":
            return bool(self._failed_ids()) or None
        return True

    def _failed_ids(self) -> list[str]:
        return [row["scenario_id"] for row in self.rows.values()
                if row["status"] in (S.FAILED, S.ERROR) and row["scenario_id"]]

    def action_cancel_run(self) -> None:
        if self.run is None or self.run.status != RunStatus.RUNNING:
            self.notify("This run is not running.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                run = run_store.resolve_run(self.run_id)
                canceled = self.runtime.executor.cancel(run)
            except PreclinicalError as exc:
                self.report(exc, "Canceling the run")
                return
            self.notify(f"Canceled; {canceled} unfinished scenario runs stopped.", title="Run canceled")

        self.app.push_screen(ConfirmDialog("Cancel this run?", "Scenario runs in progress stop now; finished ones "
                                           "keep their results.", confirm_label="Cancel run"), answered)

    def action_delete_run(self) -> None:
        label = self.run.name or self.run.test_run_id if self.run else self.run_id

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                run = run_store.resolve_run(self.run_id)
                self._deleting = True
                self.runtime.executor.delete(run)
            except PreclinicalError as exc:
                self.report(exc, "Deleting the run")
                return
            self.notify(f"Deleted run {label}.", title="Run deleted")
            self.close()

        self.app.push_screen(ConfirmDialog(f"Delete run {label}?", "A running run is canceled first. Deleted runs "
                                           "leave every list and the API.", confirm_label="Delete"), answered)

    def action_rerun_failed(self) -> None:
        ids = self._failed_ids()
        if not ids or self.run is None:
            self.notify("No failed or errored scenarios to rerun.", severity="warning")
            return
        run = self.run
        new = self.papp.start_run(RunRequest.again(run, ids, f"Rerun of failed: {run.name or run.test_run_id}"))
        if new is not None:
            self.papp.show_run(new.id)

    def action_export(self, kind: str) -> None:
        if self.run is None:
            return
        folder = downloads_dir()
        default = str(folder / export_name(test_run_json(self.run), kind))

        def chosen(path: str | None) -> None:
            if path:
                target = Path(path).expanduser()
                self.export(kind, target if target.is_absolute() else folder / target)

        self.app.push_screen(PathDialog(f"Export this run as {kind.upper()}", default, base=folder), chosen)

    @work(exclusive=True, exit_on_error=False, group="export", description="Export")
    async def export(self, kind: str, path: Path) -> None:
        target = path if path.is_absolute() else downloads_dir() / path
        try:
            size = await asyncio.to_thread(write_export, self.run_id, kind, target)
        except OSError as exc:
            self.notify(f"Could not write {target}: {exc.strerror or exc}. Choose another path.",
                        title="Export failed", severity="error")
            return
        self.notify(f"Wrote {target} ({size:,} bytes).", title=f"{kind.upper()} exported")

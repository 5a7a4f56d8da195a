"""Dashboard: readiness, counts, recent runs with pass rate and triage accuracy, trends, quick actions."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Label, Static

from preclinical.bus import Event
from preclinical.domain.run import RUN_LEVEL_EVENTS, EventTable, RunEvent
from preclinical.providers.registry import SPECS
from preclinical.readiness import check_health, health_report, probes_for
from preclinical.store import stats
from preclinical.tui import formatting as fmt
from preclinical.tui.screens.base import NARROW_BELOW, BaseScreen

RECENT_RUNS = 8


class DashboardScreen(BaseScreen):
    TITLE_TEXT = "Dashboard"
    AUTO_FOCUS = ""  # the recent runs table takes the focus once it has rows
    HELP_TEXT = ("Is the installation ready, what is in the library, and how the agents did lately. "
                 "Select a recent run to open it; d brings you back here from anywhere.")
    BINDINGS = [
        Binding("r", "new_run", "New run", id="dashboard.new_run"),
        Binding("n", "new_agent", "New agent", id="dashboard.new_agent"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="dashboard"):
            yield Static(id="status-line")
            yield Static(id="counts-line")
            with Horizontal(id="dashboard-top", classes="row"):
                with Vertical(classes="panel", id="readiness-panel"):
                    yield Label("Readiness", classes="panel-title", id="readiness-title")
                    yield Static(id="readiness")
                with Vertical(classes="panel", id="counts-panel"):
                    yield Label("Library and runs", classes="panel-title")
                    yield Static(id="counts")
            with Vertical(classes="panel", id="runs-panel"):
                yield Label("Recent runs", classes="panel-title")
                yield DataTable(id="recent-runs", cursor_type="row", zebra_stripes=True)
                yield Static("No runs yet: press r to start one against the demo bot.", id="no-runs",
                             classes="empty-note")
            with Horizontal(id="dashboard-bottom", classes="row"):
                with Vertical(classes="panel", id="trends-panel"):
                    yield Label("Pass-rate trend per agent (completed runs, oldest → newest)", classes="panel-title")
                    yield Vertical(id="trends")
                with Vertical(classes="panel", id="actions-panel"):
                    yield Label("Quick actions", classes="panel-title")
                    yield Button("New run  r", id="act-new-run", variant="primary")
                    yield Button("New agent  n", id="act-new-agent")
                    yield Button("Scenarios  s", id="act-scenarios")
                    yield Button("Generate  g", id="act-generate")
        yield Footer()

    # ------------------------------------------------------------------ data
    def reload(self) -> None:
        self._show_status_line()
        report = health_report(self.runtime)  # cached model probes: never waits
        self._show_readiness(report)
        probes = probes_for(self.runtime)
        if probes is not None and probes.stale():
            self.run_worker(self._probe_models(), group="readiness", exclusive=True)
        self._show_counts(stats.overview_counts())
        self._show_runs(stats.recent_runs(RECENT_RUNS))
        self._show_trends(stats.pass_rate_trends())

    def _show_status_line(self) -> None:
        app = self.papp
        settings = self.runtime.settings
        if app.api_url:
            parts = [f"API on [b]{app.api_url}[/b]"]
        else:
            parts = [f"[red]API is off:[/] {app.api_error or 'not started'}"]
        if self.runtime.llm is None:
            parts.append("offline engine")
        else:
            parts.append(f"models {settings.tester_model} / {settings.grader_model}")
        parts.append(f"data in {fmt.home_relative(settings.data_dir)}")
        self.query_one("#status-line", Static).update("  ·  ".join(parts))

    async def _probe_models(self) -> None:
        """Ask the model endpoints (at most about a second), then show what they said."""
        await check_health(self.runtime)
        await self.runtime.extras["model_probes"].refresh()
        self._show_readiness(health_report(self.runtime))

    def _show_readiness(self, report: dict) -> None:
        checks = report["checks"]
        database_ok = checks["database"]["status"] == "ok"
        offline = report["engine"] == "offline"
        title = Text("Readiness  ")
        if database_ok:
            title.append("● ready", style="green")
            title.append(" · offline engine" if offline else " · model engine", style="dim")
        else:
            title.append("● database error", style="red")
        self.query_one("#readiness-title", Label).update(title)
        rows = [
            ("Database", checks["database"]["status"], "connected" if database_ok else checks["database"]["detail"]),
            ("Patient", "ok", "offline: scripted standardized patient") if offline
            else ("Patient", checks["tester_model"]["status"], checks["tester_model"]["detail"]),
            ("Judge", "ok", "offline: rules grader (machine checks)") if offline
            else ("Judge", checks["grader_model"]["status"], checks["grader_model"]["detail"]),
            ("Web-chat agents", checks["browser_provider"]["status"],
             "Browser Use key set" if checks["browser_provider"]["status"] == "ok" else "need BROWSER_USE_API_KEY"),
            ("Providers", "ok", f"{len(SPECS)}: {', '.join(SPECS)}"),
        ]
        table = Table(show_header=False, box=None, padding=(0, 1, 0, 0), expand=True)
        table.add_column("check", no_wrap=True, style="bold")
        table.add_column("status", no_wrap=True)
        table.add_column("detail", ratio=1, no_wrap=True, overflow="ellipsis")
        for name, status, detail in rows:
            table.add_row(name, Text("●", style=fmt.CHECK_STYLE.get(status, "yellow")), detail)
        hint = Text()
        if offline:
            hint.append("For a model-driven patient and judge, set OPENAI_API_KEY or OPENAI_BASE_URL "
                        "(any OpenAI-compatible endpoint) and restart.", style="dim")
        self.query_one("#readiness", Static).update(Group(table, hint) if offline else table)

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.query_one("#counts-line", Static).update(
            f"{fmt.plural(counts['agents'], 'agent')} · {fmt.plural(counts['scenarios'], 'scenario')} · "
            f"{fmt.plural(counts['drafts'], 'draft')} · {fmt.plural(counts['runs'], 'run')} · "
            f"{counts['runs_running']} running")
        table = Table(show_header=False, box=None, padding=(0, 1, 0, 0))
        table.add_column("what")
        table.add_column("count", justify="right", style="bold")
        table.add_row("Agents", str(counts["agents"]))
        table.add_row("Scenarios", str(counts["scenarios"]))
        table.add_row("Drafts to review", str(counts["drafts"]))
        table.add_row("Test runs", str(counts["runs"]))
        table.add_row("Running now", str(counts["runs_running"]))
        self.query_one("#counts", Static).update(table)

    def _show_runs(self, runs: list[dict]) -> None:
        table = self.query_one("#recent-runs", DataTable)
        keep = table.cursor_row
        wide = self.size.width >= NARROW_BELOW
        table.clear(columns=True)
        table.add_columns("Run", "Agent", "Result", "Passed", "Triage accuracy" if wide else "Triage",
                          *(["Created"] if wide else []))
        for run in runs:
            cells = [
                fmt.plain(fmt.run_label(run, 32 if wide else 20)),
                fmt.plain(fmt.one_line(run["agent_name"], 24 if wide else 14)),
                fmt.outcome_badge(fmt.run_outcome(run)),
                fmt.ratio(run["passed_count"], run["total_scenarios"]),
                fmt.ratio(run["triage_correct"], run["triage_graded"]),
            ]
            table.add_row(*cells, *([fmt.when(run["created_at"])] if wide else []), key=run["id"])
        if runs:
            table.move_cursor(row=min(keep, len(runs) - 1))
            if self.focused is None:
                table.focus()  # enter opens the newest run straight away
        self.call_after_refresh(table.refresh, layout=True)  # re-measure the rebuilt auto-height table
        table.display = bool(runs)
        self.query_one("#no-runs").display = not runs

    def _show_trends(self, trends: list[dict]) -> None:
        box = self.query_one("#trends", Vertical)
        box.remove_children()
        if not trends:
            box.mount(Static("Trends appear after the first completed run.", classes="empty-note"))
            return
        rows = []
        for trend in trends:
            rates = trend["rates"]
            rows.append(Horizontal(
                Label(fmt.one_line(trend["agent_name"], 22), classes="trend-name", markup=False),
                Static(fmt.rate_sparkline(rates), classes="trend-line"),
                Label(f"{rates[-1]:.0f}% · {len(rates)} run{'s' if len(rates) != 1 else ''}", classes="trend-last"),
                classes="trend",
            ))
        box.mount_all(rows)

    def on_resize(self) -> None:
        self._show_runs(stats.recent_runs(RECENT_RUNS))  # the columns depend on the width

    # ------------------------------------------------------------------ live
    def wants(self, event: Event) -> bool:
        return event.table in (EventTable.AGENTS, EventTable.SCENARIOS, EventTable.TEST_RUNS) \
            or event.event_type in RUN_LEVEL_EVENTS \
            or event.event_type in (RunEvent.SCENARIO_COMPLETE, RunEvent.SCENARIO_ERROR)

    # ------------------------------------------------------------------ actions
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "recent-runs" and event.row_key.value:
            self.papp.show_run(event.row_key.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {"act-new-run": "new_run", "act-new-agent": "new_agent", "act-scenarios": "app.scenarios",
                   "act-generate": "app.generate"}
        if event.button.id in actions:
            self.run_action(actions[event.button.id])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "back"  # nothing below the dashboard

    def action_new_run(self) -> None:
        self.papp.show_new_run()

    def action_new_agent(self) -> None:
        self.papp.show_agent_form(None)

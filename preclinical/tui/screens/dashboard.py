"""Dashboard: readiness, counts and quick actions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from preclinical.readiness import health_report
from preclinical.runtime import Runtime
from preclinical.store.models import Agent, TestRun
from preclinical.store.scenarios import counts as scenario_counts
from preclinical.tui.messages import BusEvent

_MARK = {"ok": "[green]●[/] ok", "warning": "[yellow]●[/] warning", "error": "[red]●[/] error"}


class DashboardScreen(Screen):
    BINDINGS = [Binding("r", "refresh", "Refresh", id="dashboard.refresh")]

    def __init__(self, runtime: Runtime, api_url: str | None, api_error: str | None) -> None:
        super().__init__()
        self.runtime = runtime
        self.api_url = api_url
        self.api_error = api_error

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="dashboard"):
            yield Static(id="api-line")
            with Horizontal(id="panels"):
                with Vertical(classes="panel", id="readiness-panel"):
                    yield Static("Readiness", classes="panel-title")
                    yield DataTable(id="readiness", show_header=False, cursor_type="none", zebra_stripes=False)
                with Vertical(classes="panel", id="counts-panel"):
                    yield Static("Library and runs", classes="panel-title")
                    yield DataTable(id="counts", show_header=False, cursor_type="none")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#readiness", DataTable).add_columns("check", "status", "detail")
        self.query_one("#counts", DataTable).add_columns("what", "count")
        self.refresh_data()

    def action_refresh(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        api = self.query_one("#api-line", Static)
        if self.api_url:
            api.update(f"API listening on [b]{self.api_url}[/b]   ·   data in {self.runtime.settings.data_dir}")
        else:
            api.update(f"[red]API is off:[/] {self.api_error}")
        report = health_report(self.runtime)
        readiness = self.query_one("#readiness", DataTable)
        readiness.clear()
        readiness.add_row("Engine", "", "offline (scripted patient + rules grader)" if report["engine"] == "offline" else "language model")
        for name, check in report["checks"].items():
            readiness.add_row(name.replace("_", " ").capitalize(), _MARK[check["status"]], check["detail"])
        live_agents = Agent.select().where(Agent.deleted_at.is_null()).count()
        scen = scenario_counts()
        runs = TestRun.select().where(TestRun.deleted_at.is_null()).count()
        table = self.query_one("#counts", DataTable)
        table.clear()
        table.add_row("Agents", str(live_agents), key="agents")
        table.add_row("Scenarios (approved)", str(scen["active"]), key="scenarios")
        table.add_row("Drafts", str(scen["drafts"]), key="drafts")
        table.add_row("Test runs", str(runs), key="runs")

    def on_bus_event(self, message: BusEvent) -> None:
        if message.event.table in ("agents", "scenarios", "test_runs"):
            self.refresh_data()

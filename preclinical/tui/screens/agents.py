"""Agents: the list, and the selected agent's details and runs; create, edit, delete, start a run."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, Static

from preclinical.bus import Event
from preclinical.domain.run import RUN_LEVEL_EVENTS, EventTable, RunStatus
from preclinical.errors import NotFound, PreclinicalError
from preclinical.providers.registry import SPECS
from preclinical.store import agents as agent_store
from preclinical.store import stats
from preclinical.store.serialize import agent_json
from preclinical.tui import formatting as fmt
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.dialogs import ConfirmDialog

AGENT_RUNS = 50


def provider_label(provider: str) -> str:
    spec = SPECS.get(provider)
    return spec.label if spec else provider


class AgentsScreen(BaseScreen):
    TITLE_TEXT = "Agents"
    HELP_TEXT = ("The agents under test. Pick one on the left to see its configuration (secrets masked) and its "
                 "runs; enter on a run opens it.")
    BINDINGS = [
        Binding("n", "new_agent", "New agent", id="agents.new"),
        Binding("e", "edit_agent", "Edit", id="agents.edit"),
        Binding("r", "new_run", "New run", id="agents.new_run"),
        Binding("delete", "delete_agent", "Delete", id="agents.delete"),
    ]

    def __init__(self, agent_id: str | None = None) -> None:
        super().__init__()
        self.agent_id = agent_id

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="agents-body", classes="split"):
            with Vertical(classes="panel", id="agent-list-panel"):
                yield Label("Agents", classes="panel-title", id="agent-count")
                yield DataTable(id="agent-list", cursor_type="row")
                yield Static("No agents yet: press n to add one.", id="no-agents", classes="empty-note")
            with VerticalScroll(classes="panel", id="agent-detail"):
                yield Label("", classes="panel-title", id="agent-name")
                yield Static(id="agent-summary")
                yield Static(id="agent-config")
                yield Label("Runs", classes="panel-title")
                yield DataTable(id="agent-runs", cursor_type="row", zebra_stripes=True)
                yield Static("No runs yet: press r to start one.", id="no-agent-runs", classes="empty-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#agent-list", DataTable).add_columns("Name", "Provider")
        self.query_one("#agent-runs", DataTable).add_columns("Run", "Result", "Passed", "Triage", "Created")

    # ------------------------------------------------------------------ data
    def reload(self) -> None:
        agents = agent_store.list_agents()
        table = self.query_one("#agent-list", DataTable)
        table.clear()
        for agent in agents:
            table.add_row(fmt.plain(agent.name), fmt.plain(agent.provider), key=agent.id)
        self.query_one("#agent-count", Label).update(f"Agents ({len(agents)})")
        self.query_one("#no-agents").display = not agents
        ids = [a.id for a in agents]
        if self.agent_id not in ids:
            self.agent_id = ids[0] if ids else None
        if self.agent_id:
            table.move_cursor(row=ids.index(self.agent_id))
        self._show_agent()
        self.refresh_bindings()

    def _show_agent(self) -> None:
        detail = self.query_one("#agent-detail")
        if self.agent_id is None:
            detail.display = False
            return
        try:
            agent = agent_store.get_agent(self.agent_id)
        except NotFound:
            self.agent_id = None
            detail.display = False
            return
        detail.display = True
        data = agent_json(agent)
        self.query_one("#agent-name", Label).update(Text(data["name"]))
        summary = Text()
        summary.append(provider_label(data["provider"]), style="bold")
        summary.append(f"  ({data['provider']})", style="dim")
        if data["description"]:
            summary.append("\n" + data["description"])
        self.query_one("#agent-summary", Static).update(summary)
        self.query_one("#agent-config", Static).update(self._config_table(data))
        self._show_runs(stats.recent_runs(AGENT_RUNS, agent_id=agent.id))

    def _config_table(self, data: dict) -> Table:
        table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
        table.add_column("key", style="dim", no_wrap=True)
        table.add_column("value")
        spec = SPECS.get(data["provider"])
        config = data["config"] or {}
        shown = set()
        for field in spec.fields if spec else ():
            for key in (field.key, *field.aliases):
                if config.get(key) not in (None, ""):
                    table.add_row(field.label, Text(_shown_value(config[key])))
                    shown.add(key)
                    break
        for key, value in config.items():
            if key not in shown and value not in (None, ""):
                table.add_row(key, Text(_shown_value(value)))
        if not table.row_count:
            table.add_row("config", Text("(none)", style="dim"))
        return table

    def _show_runs(self, runs: list[dict]) -> None:
        table = self.query_one("#agent-runs", DataTable)
        table.clear()
        for run in runs:
            done = run["status"] == RunStatus.COMPLETED
            table.add_row(
                fmt.plain(fmt.run_label(run, 28)),
                fmt.outcome_badge(fmt.run_outcome(run)),
                f"{run['passed_count']}/{run['total_scenarios']}" if done else "in progress"
                if run["status"] == RunStatus.RUNNING else "—",
                fmt.ratio(run["triage_correct"], run["triage_graded"]),
                fmt.when(run["created_at"]),
                key=run["id"],
            )
        table.display = bool(runs)
        self.query_one("#no-agent-runs").display = not runs

    # ------------------------------------------------------------------ events
    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "agent-list" and event.row_key.value and event.row_key.value != self.agent_id:
            self.agent_id = event.row_key.value
            self._show_agent()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "agent-runs" and event.row_key.value:
            self.papp.show_run(event.row_key.value)
        elif event.data_table.id == "agent-list":
            self.query_one("#agent-runs", DataTable).focus()

    def wants(self, event: Event) -> bool:
        return event.table in (EventTable.AGENTS, EventTable.TEST_RUNS) or event.event_type in RUN_LEVEL_EVENTS

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit_agent", "new_run", "delete_agent") and self.agent_id is None:
            return None  # shown, but disabled
        return True

    def action_new_agent(self) -> None:
        self.papp.show_agent_form(None)

    def action_edit_agent(self) -> None:
        if self.agent_id:
            self.papp.show_agent_form(self.agent_id)

    def action_new_run(self) -> None:
        if self.agent_id:
            self.papp.show_new_run(self.agent_id)

    def action_delete_agent(self) -> None:
        if not self.agent_id:
            return
        agent_id = self.agent_id
        try:
            name = agent_store.get_agent(agent_id).name
        except NotFound:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                agent_store.delete_agent(self.runtime.services, agent_id)
            except PreclinicalError as exc:
                self.report(exc, "Deleting the agent")
                return
            self.agent_id = None
            self.notify(f"Deleted agent {name}.", title="Agent deleted")

        self.app.push_screen(ConfirmDialog(
            f"Delete agent {name}?", "Its runs stay readable in the run history; it can no longer be run.",
            confirm_label="Delete"), answered)


def _shown_value(value: object) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)

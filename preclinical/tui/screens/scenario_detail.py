"""One scenario, read-only: what the patient says and knows, the gold level, the rubric, and its actions."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalGroup, VerticalScroll
from textual.widgets import Footer, Header, Label, Static

from preclinical.bus import Event
from preclinical.errors import NotFound
from preclinical.store import scenarios as scenario_store
from preclinical.store.serialize import scenario_json
from preclinical.tui import formatting as fmt
from preclinical.tui.screens import scenario_actions
from preclinical.tui.screens.base import BaseScreen

SECTIONS = (  # (content key, heading)
    ("initial_message", "Opening message"),
    ("chief_complaint", "Chief complaint"),
    ("demographics", "Demographics"),
    ("clinical_facts", "Clinical facts"),
    ("sop_instructions", "Agent SOP / instructions"),
    ("test_type", "Test type"),
)


def describe_check(check: Any) -> str:
    if not isinstance(check, dict):
        return ""
    kind = check.get("type", "")
    if "level" in check:
        return f"{kind} {check['level']}"
    if "min" in check:
        return f"{kind} ≥ {check['min']}"
    if "phrases" in check:
        return f"{kind}: {', '.join(check['phrases'][:3])}{'…' if len(check['phrases']) > 3 else ''}"
    if "checks" in check:
        return " & ".join(describe_check(c) for c in check["checks"])
    return kind


def rubric_table(rubric: list[Any]) -> Table:
    table = Table(box=None, padding=(0, 1, 0, 0), expand=True, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Criterion", ratio=3)
    table.add_column("Points", justify="right", no_wrap=True)
    table.add_column("Tags", ratio=1)
    table.add_column("Machine check", ratio=1)
    for i, item in enumerate(rubric, 1):
        if isinstance(item, str):
            item = {"criterion": item}
        critical = Text(" critical", style="bold red") if item.get("critical") else Text("")
        table.add_row(str(i), Text(str(item.get("criterion") or "")) + critical, fmt.points(item.get("points")),
                      Text(", ".join(item.get("tags") or [])), Text(describe_check(item.get("check")), style="dim"))
    return table


class ScenarioDetailScreen(BaseScreen):
    TITLE_TEXT = "Scenario"
    HELP_TEXT = "A scenario as the simulated patient and the grader see it. e edits every field."
    BINDINGS = [
        Binding("e", "edit", "Edit", id="scenario.edit"),
        Binding("c", "duplicate", "Duplicate", id="scenario.duplicate"),
        Binding("p", "approve", "Approve", id="scenario.approve"),
        Binding("r", "run_it", "Run it", id="scenario.run"),
        Binding("delete", "delete", "Delete", id="scenario.delete"),
    ]

    def __init__(self, scenario_id: str) -> None:
        super().__init__()
        self.scenario_id = scenario_id
        self.data: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="scenario-detail", classes="form"):
            yield Label("", id="scenario-name", classes="form-title")
            yield Static("", id="scenario-chips")
            yield Static("", id="scenario-problems", classes="warning-box")
            yield VerticalGroup(id="scenario-sections")
        yield Footer()

    def reload(self) -> None:
        try:
            self.data = scenario_json(scenario_store.get_scenario(self.scenario_id))
        except NotFound:
            self.notify("This scenario no longer exists.", severity="warning")
            self.close()
            return
        data = self.data
        content = data["content"] or {}
        self.query_one("#scenario-name", Label).update(Text(data["name"]))
        chips = Text()
        for part, style in (
            (data["category"] or "no category", "bold"), (data["scenario_type"], ""),
            (f"gold: {fmt.level(content.get('gold_standard'))}", "bold"),
            (f"priority {data['priority']}" if data["priority"] is not None else "no priority", ""),
        ):
            chips.append(part, style=style)
            chips.append("  ·  ", style="dim")
        chips.append_text(Text("approved", style="green") if data["approved"] else Text("draft", style="yellow"))
        if not data["is_active"]:
            chips.append("  ·  ", style="dim")
            chips.append("inactive", style="dim italic")
        if data["tags"]:
            chips.append("\ntags: " + ", ".join(data["tags"]), style="dim")
        chips.append(f"\n{data['source']}{' ' + data['library_key'] if data['library_key'] else ''} · "
                     f"updated {fmt.when(data['updated_at'])} · id {data['scenario_id']}", style="dim")
        self.query_one("#scenario-chips", Static).update(chips)
        problems = self.query_one("#scenario-problems", Static)
        problems.update("Not runnable yet: " + "; ".join(data["problems"]) if data["problems"] else "")
        problems.display = bool(data["problems"])
        box = self.query_one("#scenario-sections", VerticalGroup)
        box.remove_children()
        widgets = []
        for key, heading in SECTIONS:
            value = content.get(key)
            if value in (None, "", {}):
                continue
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v}" for k, v in value.items())
            widgets += [Label(heading, classes="panel-title"), Static(Text(str(value)), classes="section-text")]
        rubric = data["rubric_criteria"] or []
        widgets += [Label(f"Rubric ({len(rubric)} criteria)", classes="panel-title"),
                    Static(rubric_table(rubric) if rubric else Text("No criteria.", style="dim"))]
        extra = {k: v for k, v in content.items() if k not in {key for key, _ in SECTIONS} | {"gold_standard"}}
        if extra:
            widgets += [Label("Other content", classes="panel-title"),
                        Static(Text(json.dumps(extra, indent=2, ensure_ascii=False)), classes="section-text")]
        box.mount_all(widgets)
        self.refresh_bindings()

    def wants(self, event: Event) -> bool:
        return event.table == "scenarios" and event.payload.get("scenario_id") == self.scenario_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve" and self.data and self.data["approved"] and self.data["is_active"]:
            return None
        return True

    def action_edit(self) -> None:
        self.papp.show_scenario_editor(self.scenario_id)

    def action_duplicate(self) -> None:
        if copy := scenario_actions.duplicate(self, self.scenario_id):
            self.papp.show_scenario_editor(copy, replace=True)

    def action_approve(self) -> None:
        if scenario_actions.approve(self, self.scenario_id):
            self.reload()

    def action_delete(self) -> None:
        scenario_actions.confirm_delete(self, self.scenario_id, self.reload)

    def action_run_it(self) -> None:
        self.papp.show_new_run(None, [self.scenario_id])

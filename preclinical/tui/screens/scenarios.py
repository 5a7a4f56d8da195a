"""The scenario library: search and filters (category, gold level, tag, drafts), counts, and scenario actions."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from preclinical.bus import Event
from preclinical.domain.scenario_rules import runnable_problems
from preclinical.domain.triage import DISPLAY, LEVELS, normalize_level
from preclinical.errors import PreclinicalError
from preclinical.store import scenarios as scenario_store
from preclinical.store import stats
from preclinical.tui import formatting as fmt
from preclinical.tui.screens import scenario_actions
from preclinical.tui.screens.base import BaseScreen

SEARCH_PAUSE_S = 0.15
STATES = {  # label → (approved, active) for store.list_scenarios
    "Approved": ("true", "true"),
    "Drafts": ("false", "true"),
    "Inactive": ("all", "false"),
    "All": ("all", "all"),
}


def state_label(approved: bool, active: bool) -> Text:
    if not active:
        return Text("inactive", style="dim")
    return Text("approved", style="green") if approved else Text("draft", style="yellow")


class ScenariosScreen(BaseScreen):
    TITLE_TEXT = "Scenarios"
    HELP_TEXT = ("The scenario library. Type to search; filter by category, gold level, tag and state (drafts are "
                 "generated or copied scenarios waiting for approval). Enter opens a scenario.")
    BINDINGS = [
        Binding("slash", "focus_search", "Search", id="scenarios.search", key_display="/"),
        Binding("n", "new_scenario", "New", id="scenarios.new"),
        Binding("e", "edit", "Edit", id="scenarios.edit"),
        Binding("c", "duplicate", "Duplicate", id="scenarios.duplicate"),
        Binding("p", "approve", "Approve", id="scenarios.approve"),
        Binding("r", "run_selected", "Run it", id="scenarios.run"),
        Binding("delete", "delete", "Delete", id="scenarios.delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self._ready = False
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="scenario-filters", classes="filters"):
            yield Input(id="q", placeholder="/ search name, complaint, opening message, tags", compact=True)
            yield Select([], id="category", prompt="category", compact=True)
            yield Select([(DISPLAY[level], level) for level in reversed(LEVELS)], id="gold", prompt="gold level",
                         compact=True)
            yield Select([], id="tag", prompt="tag", compact=True)
            yield Select([(name, name) for name in STATES], id="state", value="Approved", allow_blank=False,
                         compact=True)
        yield Static("", id="scenario-count")
        yield DataTable(id="scenario-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        facets = stats.scenario_facets()
        self.query_one("#category", Select).set_options([(c, c) for c in facets["categories"]])
        self.query_one("#tag", Select).set_options([(t, t) for t in facets["tags"]])
        self.query_one("#scenario-table", DataTable).focus()
        self._ready = True

    # ------------------------------------------------------------------ data
    def _value(self, wid: str) -> str | None:
        value = self.query_one(f"#{wid}", Select).value
        return None if value is Select.NULL else str(value)

    def reload(self) -> None:
        approved, active = STATES[self._value("state") or "Approved"]
        q = self.query_one("#q", Input).value.strip() or None
        try:
            scenarios = scenario_store.list_scenarios(tag=self._value("tag"), category=self._value("category"), q=q,
                                                      approved=approved, active=active)
        except PreclinicalError as exc:
            self.report(exc, "Listing scenarios")
            return
        gold = self._value("gold")
        if gold:
            scenarios = [s for s in scenarios if normalize_level((s.content or {}).get("gold_standard") or "") == gold]
        table = self.query_one("#scenario-table", DataTable)
        keep = self.ids[table.cursor_row] if self.ids and table.cursor_row < len(self.ids) else None
        narrow = self.size.width < 100
        # Fixed columns plus two cells of padding each and the scrollbar; the name takes the rest.
        name_width = max(20, self.size.width - (38 if narrow else 85))
        table.clear(columns=True)
        table.add_column("Name", key="name", width=name_width)
        if not narrow:
            table.add_column("Category", key="category", width=14)
        table.add_column("Gold", key="gold", width=10)
        if not narrow:
            table.add_column("Pri", key="priority", width=3)
            table.add_column("Tags", key="tags", width=22)
        table.add_column("Crit", key="criteria", width=4)
        table.add_column("State", key="state", width=10)
        self.ids = []
        for s in scenarios:
            content = s.content or {}
            state = state_label(bool(s.approved), bool(s.is_active))
            if runnable_problems(content, s.rubric_criteria or []):
                state.append(" ⚠", style="yellow")
            cells = [fmt.plain(fmt.one_line(s.name, name_width))]
            if not narrow:
                cells.append(fmt.plain(fmt.one_line(s.category or "—", 14)))
            cells.append(fmt.level_short(content.get("gold_standard")))
            if not narrow:
                cells += [str(s.priority) if s.priority is not None else "—",
                          fmt.plain(fmt.one_line(", ".join(s.tags or []), 22))]
            cells += [str(len(s.rubric_criteria or [])), state]
            table.add_row(*cells, key=s.scenario_id)
            self.ids.append(s.scenario_id)
        if keep in self.ids:
            table.move_cursor(row=self.ids.index(keep), animate=False)
        self.refresh_bindings()
        counts = stats.overview_counts()
        shown = f"{len(scenarios)} shown"
        if q:
            shown += f" matching “{q}”"
        self.query_one("#scenario-count", Static).update(
            f"{counts['scenarios']} approved · {counts['drafts']} drafts · {shown}"
            + ("" if scenarios else " — no scenario matches; clear the search or filters"))

    def wants(self, event: Event) -> bool:
        return event.table == "scenarios"

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "q" and self._ready:
            # Search once typing pauses, not on every keystroke.
            if self._search_timer is not None:
                self._search_timer.stop()
            self._search_timer = self.set_timer(SEARCH_PAUSE_S, self.reload)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#scenario-table", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if self._ready:
            self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.papp.show_scenario(event.row_key.value)

    # ------------------------------------------------------------------ actions
    def _selected(self) -> str | None:
        table = self.query_one("#scenario-table", DataTable)
        if not self.ids or table.cursor_row >= len(self.ids):
            return None
        return self.ids[table.cursor_row]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "duplicate", "approve", "delete", "run_selected") and not self.ids:
            return None
        return True

    def action_focus_search(self) -> None:
        self.query_one("#q", Input).focus()

    def action_new_scenario(self) -> None:
        self.papp.show_scenario_editor(None)

    def action_edit(self) -> None:
        if (sid := self._selected()) is not None:
            self.papp.show_scenario_editor(sid)

    def action_duplicate(self) -> None:
        if (sid := self._selected()) is not None and (copy := scenario_actions.duplicate(self, sid)):
            self.papp.show_scenario_editor(copy)

    def action_approve(self) -> None:
        if (sid := self._selected()) is not None and scenario_actions.approve(self, sid):
            self.reload()

    def action_delete(self) -> None:
        if (sid := self._selected()) is not None:
            scenario_actions.confirm_delete(self, sid)

    def action_run_selected(self) -> None:
        if (sid := self._selected()) is not None:
            self.papp.show_new_run(None, [sid])

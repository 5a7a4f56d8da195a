"""New run: pick the agent and the scenarios (search, tag, gold level, checkboxes or all), set options, start."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup, VerticalGroup, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, SelectionList, Static
from textual.widgets.selection_list import Selection

from preclinical.domain.run import RunRequest
from preclinical.domain.triage import DISPLAY, LEVELS, normalize_level
from preclinical.engine.executor import DEFAULT_CONCURRENCY
from preclinical.store import agents as agent_store
from preclinical.store import scenarios as scenario_store
from preclinical.store import stats
from preclinical.tui.screens.base import BaseScreen

SEARCH_PAUSE_S = 0.15


class NewRunScreen(BaseScreen):
    HOLDS_INPUT = True
    TITLE_TEXT = "New run"
    HELP_TEXT = ("Choose the agent and the scenarios: leave “All” on to run every scenario matching the filters, "
                 "or switch it off and tick scenarios (space; f3 ticks all shown, f4 none). ctrl+s starts the run and "
                 "opens it live.")
    NOT_FORM_STATE = ("search", "tag", "gold")  # filters of the scenario list, not the run
    BINDINGS = [
        Binding("ctrl+s", "start", "Start run", id="new_run.start", priority=True),
        Binding("f3", "select_shown", "Tick all shown", id="new_run.select_all"),
        Binding("f4", "clear_selection", "Untick all", id="new_run.clear"),
    ]

    def __init__(self, agent_id: str | None = None, scenario_ids: list[str] | None = None) -> None:
        super().__init__()
        self.agent_id = agent_id
        self.selected: set[str] = set(scenario_ids or [])
        self.scenarios: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []
        self._ready = False
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        settings = self.runtime.settings
        yield Header()
        with VerticalScroll(id="new-run", classes="form"):
            yield Label("New run", classes="form-title")
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell"):
                    yield Label("Agent *", classes="field-label")
                    yield Select([], id="agent", allow_blank=True, prompt="Choose an agent", compact=True)
                with VerticalGroup(classes="form-cell"):
                    yield Label("Run name", classes="field-label")
                    yield Input(id="run-name", placeholder="optional, e.g. nightly triage check", compact=True)
            yield Label("Scenarios", classes="panel-title")
            with HorizontalGroup(classes="form-row filters"):
                yield Input(id="search", placeholder="search name, category, tags", compact=True)
                yield Select([], id="tag", prompt="any tag", allow_blank=True, compact=True)
                yield Select([(DISPLAY[level], level) for level in reversed(LEVELS)], id="gold",
                             prompt="any gold level", allow_blank=True, compact=True)
            yield Checkbox("All scenarios matching the filters", value=not self.selected, id="all", compact=True)
            yield SelectionList[str](id="scenario-list")
            yield Static("", id="selection-count", classes="field-help")
            yield Static("", id="err-scenarios", classes="field-error")
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell"):
                    yield Label(f"Max turns ({settings.min_max_turns}–{settings.max_max_turns})", classes="field-label")
                    yield Input(str(settings.default_max_turns), id="max-turns", type="integer", compact=True)
                    yield Static("", id="err-max-turns", classes="field-error")
                with VerticalGroup(classes="form-cell"):
                    yield Label("Concurrency", classes="field-label")
                    yield Input(str(DEFAULT_CONCURRENCY), id="concurrency", type="integer", compact=True)
                    yield Static("", id="err-concurrency", classes="field-error")
                with VerticalGroup(classes="form-cell"):
                    yield Label("Max scenarios", classes="field-label")
                    yield Input("", id="max-scenarios", type="integer", placeholder="blank = all", compact=True)
                    yield Static("", id="err-max-scenarios", classes="field-error")
            yield Checkbox("Benchmark mode: only scenarios with an opening message, facts and a gold level",
                           id="benchmark", compact=True)
            yield Checkbox("Creative mode: an adversarial patient driven by the model", id="creative", compact=True)
            yield Static("", id="creative-note", classes="field-help")
            yield Static("", id="form-error", classes="form-error")
            with HorizontalGroup(classes="form-buttons"):
                yield Button("Start run  ctrl+s", variant="primary", id="start")
                yield Button("Cancel  esc", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        agents = agent_store.list_agents()
        select = self.query_one("#agent", Select)
        select.set_options([(f"{a.name} ({a.provider})", a.id) for a in agents])
        ids = [a.id for a in agents]
        if self.agent_id not in ids and ids:
            self.agent_id = ids[0]
        if self.agent_id:
            select.value = self.agent_id
        self.query_one("#tag", Select).set_options([(t, t) for t in stats.scenario_facets()["tags"]])
        self.scenarios = [
            {"id": s.scenario_id, "name": s.name, "category": s.category or "", "tags": list(s.tags or []),
             "gold": normalize_level((s.content or {}).get("gold_standard") or "")}
            for s in scenario_store.list_scenarios()
        ]
        creative = self.query_one("#creative", Checkbox)
        if self.runtime.llm is None:
            creative.disabled = True
            self.query_one("#creative-note", Static).update(
                "Creative mode needs a language model: set OPENAI_API_KEY or OPENAI_BASE_URL and restart. "
                "The offline engine plays a scripted standardized patient.")
        self._apply_filters()
        self._ready = True
        self.call_after_refresh(self.remember_form)
        self.query_one("#scenario-list").disabled = self.query_one("#all", Checkbox).value
        self.query_one("#search", Input).focus()

    def reload(self) -> None:
        """A form keeps what the user chose; nothing to reload."""

    # ------------------------------------------------------------------ scenario choice
    def _matches(self, s: dict[str, Any]) -> bool:
        q = self.query_one("#search", Input).value.strip().lower()
        tag = self.query_one("#tag", Select).value
        gold = self.query_one("#gold", Select).value
        if q and q not in s["name"].lower() and q not in s["category"].lower() \
                and not any(q in t.lower() for t in s["tags"]):
            return False
        if tag is not Select.NULL and tag not in s["tags"]:
            return False
        return gold is Select.NULL or s["gold"] == gold

    def _filtered(self) -> bool:
        return bool(self.query_one("#search", Input).value.strip()) or any(
            self.query_one(f"#{w}", Select).value is not Select.NULL for w in ("tag", "gold"))

    def _apply_filters(self) -> None:
        self.shown = [s for s in self.scenarios if self._matches(s)]
        listing = self.query_one("#scenario-list", SelectionList)
        listing.clear_options()
        options = []
        for s in self.shown:
            prompt = Text(s["name"])
            if s["gold"]:
                prompt.append(f"  {DISPLAY[s['gold']]}", style="dim")
            options.append(Selection(prompt, s["id"], s["id"] in self.selected))
        listing.add_options(options)
        if options:
            listing.highlighted = 0
        self._show_count()

    def _cap(self) -> int | None:
        """Max scenarios as typed (None when blank or not a positive whole number)."""
        text = self.query_one("#max-scenarios", Input).value.strip()
        return int(text) if text.isdigit() and int(text) > 0 else None

    def _show_count(self) -> None:
        total = len(self.scenarios)
        cap = self._cap()

        def capped(n: int) -> str:
            return f"the first {cap} of {n}" if cap is not None and cap < n else f"{n}"

        if self.query_one("#all", Checkbox).value:
            text = f"{capped(len(self.shown))} scenarios shown will run" if self._filtered() \
                else f"Every active scenario will run: {capped(total)}"
        else:
            chosen = len(self.selected)
            text = f"{capped(chosen)} selected scenarios will run · {total} in all · {len(self.shown)} shown"
        self.query_one("#selection-count", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "max-scenarios" and self._ready:
            self._show_count()
        if event.input.id == "search" and self._ready:
            # Rebuilding the checklist on every keystroke makes typing lag; wait for a pause.
            if self._search_timer is not None:
                self._search_timer.stop()
            self._search_timer = self.set_timer(SEARCH_PAUSE_S, self._apply_filters)

    def on_select_changed(self, event: Select.Changed) -> None:
        if not self._ready:
            return
        if event.select.id in ("tag", "gold"):
            self._apply_filters()
        elif event.select.id == "agent":
            self.agent_id = None if event.value is Select.NULL else str(event.value)

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "all":
            self.query_one("#scenario-list").disabled = event.value
            self._show_count()

    def on_selection_list_selection_toggled(self, event: SelectionList.SelectionToggled) -> None:
        value = event.selection.value
        if value in self.selected:
            self.selected.discard(value)
        else:
            self.selected.add(value)
        self._show_count()

    def action_select_shown(self) -> None:
        self.query_one("#all", Checkbox).value = False
        self.selected |= {s["id"] for s in self.shown}
        self._apply_filters()

    def action_clear_selection(self) -> None:
        self.selected.clear()
        self._apply_filters()

    # ------------------------------------------------------------------ start
    def _number(self, wid: str, *, low: int | None = None, high: int | None = None, blank_ok: bool = False
                ) -> tuple[int | None, str]:
        text = self.query_one(f"#{wid}", Input).value.strip()
        if not text:
            return None, "" if blank_ok else "Required."
        try:
            value = int(text)
        except ValueError:
            return None, "Must be a whole number."
        if (low is not None and value < low) or (high is not None and value > high):
            return None, f"Must be between {low} and {high}." if high is not None else f"Must be at least {low}."
        return value, ""

    def build_request(self) -> tuple[RunRequest | None, dict[str, str]]:
        """The run the form describes, or None and the problems by field."""
        settings = self.runtime.settings
        problems: dict[str, str] = {}
        max_turns, problem = self._number("max-turns", low=settings.min_max_turns, high=settings.max_max_turns)
        if problem:
            problems["max-turns"] = problem
        concurrency, problem = self._number("concurrency", low=1, high=settings.global_concurrency)
        if problem:
            problems["concurrency"] = problem
        max_scenarios, problem = self._number("max-scenarios", low=1, blank_ok=True)
        if problem:
            problems["max-scenarios"] = problem
        ids: list[str] | None = None
        if not self.agent_id:
            problems["agent"] = "Choose an agent."
        if self.query_one("#all", Checkbox).value:
            if self._filtered():
                ids = [s["id"] for s in self.shown]
                if not ids:
                    problems["scenarios"] = "No scenario matches the filters."
                ids = ids[:max_scenarios] if max_scenarios else ids
        else:
            ids = [s["id"] for s in self.scenarios if s["id"] in self.selected]
            if not ids:
                problems["scenarios"] = "Tick at least one scenario, or switch on “All”."
            ids = ids[:max_scenarios] if max_scenarios else ids  # Max scenarios caps a selection too
        if problems or not self.agent_id:
            return None, problems
        return RunRequest(
            agent_id=self.agent_id, name=self.query_one("#run-name", Input).value.strip() or None,
            max_turns=max_turns, concurrency_limit=concurrency, max_scenarios=max_scenarios,
            scenario_ids=tuple(ids) if ids is not None else None,
            benchmark_mode=self.query_one("#benchmark", Checkbox).value,
            creative_mode=self.query_one("#creative", Checkbox).value,
        ), problems

    def action_start(self) -> None:
        request, problems = self.build_request()
        for error in self.query(".field-error").results(Static):
            key = (error.id or "").removeprefix("err-")
            error.update(problems.get(key, ""))
            error.display = key in problems
        self.query_one("#form-error", Static).update(
            problems.get("agent", "") or ("Please correct the fields marked above." if problems else ""))
        if request is None:
            return
        run = self.papp.start_run(request)
        if run is not None:
            self.papp.show_run(run.id, replace=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        elif event.button.id == "cancel":
            self.leave_form()

    def action_back(self) -> None:
        self.leave_form()

    def form_values(self) -> tuple[tuple[str, str], ...]:
        return (*super().form_values(), ("selected", repr(sorted(self.selected))))


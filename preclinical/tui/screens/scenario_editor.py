"""The scenario editor: every field, a rubric editor (points, tags, critical), validation messages in place."""

from __future__ import annotations

import json
import re
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup, VerticalGroup, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static, TextArea

from preclinical.domain.scenario_rules import SCENARIO_TYPES
from preclinical.domain.scoring import DEFAULT_POINTS
from preclinical.domain.triage import DISPLAY, LEVELS, normalize_level
from preclinical.errors import InvalidInput, NotFound, PreclinicalError
from preclinical.store import scenarios as scenario_store
from preclinical.store import stats
from preclinical.store.serialize import scenario_json
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.dialogs import ConfirmDialog
from preclinical.tui.screens.scenario_detail import describe_check

TEXT_FIELDS = (  # (content key, label, height)
    ("initial_message", "Opening message * (the patient's first words)", 3),
    ("chief_complaint", "Chief complaint", 2),
    ("clinical_facts", "Clinical facts * (all the patient knows; one “finding: value” per line)", 10),
    ("sop_instructions", "Agent SOP / instructions", 4),
)
_CRITERION_PROBLEM = re.compile(r"^rubric_criteria\[(\d+)\]")
_CONTENT_PROBLEM = re.compile(r"^content\.(\w+)")


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class CriterionEditor(VerticalGroup):
    """One rubric line: its text, points, tags, whether it is critical; a machine check is kept as it was."""

    def __init__(self, criterion: dict[str, Any] | str | None = None) -> None:
        super().__init__(classes="criterion")
        item = {"criterion": criterion} if isinstance(criterion, str) else dict(criterion or {})
        self.item = item

    def compose(self) -> ComposeResult:
        item = self.item
        with HorizontalGroup(classes="criterion-top"):
            yield Label("", classes="criterion-number")
            yield Input(str(item.get("criterion") or ""), placeholder="What the agent must do",
                        classes="criterion-text", compact=True)
            yield Button("✕", classes="criterion-remove", tooltip="Remove this criterion")
        with HorizontalGroup(classes="criterion-bottom"):
            yield Label("points", classes="inline-label")
            yield Input(str(item["points"] if item.get("points") is not None else DEFAULT_POINTS), type="number",
                        classes="criterion-points", compact=True)
            yield Label("tags", classes="inline-label")
            yield Input(", ".join(item.get("tags") or []), placeholder="axis:safety, level:triage",
                        classes="criterion-tags", compact=True)
            yield Checkbox("critical", bool(item.get("critical")), classes="criterion-critical", compact=True)
            check = describe_check(item.get("check"))
            yield Label(f"check: {check}" if check else "no machine check", classes="criterion-check")
        yield Static("", classes="field-error criterion-error")

    def number(self, n: int) -> None:
        self.query_one(".criterion-number", Label).update(f"{n}.")

    def value(self) -> tuple[dict[str, Any], str]:
        """The criterion as stored, and a problem found before saving (or "")."""
        text = self.query_one(".criterion-text", Input).value.strip()
        raw_points = self.query_one(".criterion-points", Input).value.strip()
        item = dict(self.item)
        item["criterion"] = text
        item["tags"] = split_tags(self.query_one(".criterion-tags", Input).value)
        item["critical"] = self.query_one(".criterion-critical", Checkbox).value
        if not text:
            return item, "The criterion needs a text."
        try:
            points = float(raw_points) if raw_points else float(DEFAULT_POINTS)
        except ValueError:
            return item, "Points must be a number."
        if points <= 0:
            return item, "Points must be more than 0."
        item["points"] = int(points) if points.is_integer() else points
        return item, ""

    def show_problem(self, message: str) -> None:
        error = self.query_one(".criterion-error", Static)
        error.update(message)
        error.display = bool(message)


class ScenarioEditorScreen(BaseScreen):
    HOLDS_INPUT = True
    TITLE_TEXT = "Scenario editor"
    HELP_TEXT = ("Edit every field of a scenario. The opening message, clinical facts and a gold level or rubric "
                 "make it runnable. ctrl+n adds a rubric criterion; ctrl+s saves; escape asks before discarding.")
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="editor.save", priority=True),
        Binding("ctrl+n", "add_criterion", "Add criterion", id="editor.add_criterion"),
    ]

    def __init__(self, scenario_id: str | None = None) -> None:
        super().__init__()
        self.scenario_id = scenario_id
        self.original: dict[str, Any] = {"name": "", "category": None, "scenario_type": "full", "priority": None,
                                         "tags": [], "is_active": True, "approved": True, "content": {},
                                         "rubric_criteria": []}
        self.initial: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="scenario-editor", classes="form"):
            yield Label("New scenario", id="editor-title", classes="form-title")
            yield Label("Name *", classes="field-label")
            yield Input(id="name", placeholder="e.g. EM-61: Sudden severe headache", compact=True)
            yield Static("", id="err-name", classes="field-error")
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell"):
                    yield Label("Category", classes="field-label")
                    yield Input(id="category", placeholder="emergency, clinician_eval, home_care, …", compact=True)
                    yield Static("", id="err-category", classes="field-error")
                with VerticalGroup(classes="form-cell"):
                    yield Label("Type", classes="field-label")
                    yield Select([(t, t) for t in SCENARIO_TYPES], id="scenario_type", value="full", allow_blank=False,
                                 compact=True)
                with VerticalGroup(classes="form-cell"):
                    yield Label("Priority (runs ascending)", classes="field-label")
                    yield Input(id="priority", type="integer", placeholder="none", compact=True)
                    yield Static("", id="err-priority", classes="field-error")
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell wide"):
                    yield Label("Tags (comma-separated)", classes="field-label")
                    yield Input(id="tags", placeholder="triage, cardiovascular, adult", compact=True)
                    yield Static("", id="err-tags", classes="field-error")
                with VerticalGroup(classes="form-cell"):
                    yield Checkbox("Active", True, id="is_active", compact=True)
                    yield Checkbox("Approved", True, id="approved", compact=True)
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell"):
                    yield Label("Gold standard (triage level)", classes="field-label")
                    yield Select([(DISPLAY[level], level) for level in reversed(LEVELS)], id="gold_standard",
                                 prompt="none", compact=True)
                    yield Static("", id="err-gold_standard", classes="field-error")
                with VerticalGroup(classes="form-cell wide"):
                    yield Label("Demographics (a phrase, or a JSON object)", classes="field-label")
                    yield Input(id="demographics", placeholder="61-year-old man", compact=True)
                    yield Static("", id="err-demographics", classes="field-error")
            for key, label, height in TEXT_FIELDS:
                yield Label(label, classes="field-label")
                area = TextArea(id=key, soft_wrap=True, classes="text-field")
                area.styles.height = height + 2
                yield area
                yield Static("", id=f"err-{key}", classes="field-error")
            with HorizontalGroup(classes="rubric-head"):
                yield Label("Rubric", id="rubric-title", classes="panel-title")
                yield Button("Add criterion  ctrl+n", id="add-criterion")
            yield VerticalGroup(id="rubric")
            yield Static("", id="err-rubric_criteria", classes="field-error")
            yield Static("", id="form-error", classes="form-error")
            with HorizontalGroup(classes="form-buttons"):
                yield Button("Save  ctrl+s", variant="primary", id="save")
                yield Button("Cancel  esc", id="cancel")
        yield Footer()

    async def on_mount(self) -> None:
        if self.scenario_id:
            try:
                self.original = scenario_json(scenario_store.get_scenario(self.scenario_id))
            except NotFound:
                self.notify("That scenario no longer exists.", severity="error")
                self.close()
                return
            self.query_one("#editor-title", Label).update(f"Edit scenario: {self.original['name']}")
        self.query_one("#category", Input).suggester = SuggestFromList(stats.scenario_facets()["categories"])
        await self._fill(self.original)
        self.query_one("#name", Input).focus()
        self.call_after_refresh(self._remember_initial)

    def _remember_initial(self) -> None:
        self.initial = self._collect()[0]

    def reload(self) -> None:
        """The editor keeps what the user typed; nothing to reload."""

    async def _fill(self, data: dict[str, Any]) -> None:
        content = data.get("content") or {}
        self.query_one("#name", Input).value = data.get("name") or ""
        self.query_one("#category", Input).value = data.get("category") or ""
        self.query_one("#scenario_type", Select).value = data.get("scenario_type") or "full"
        self.query_one("#priority", Input).value = "" if data.get("priority") is None else str(data["priority"])
        self.query_one("#tags", Input).value = ", ".join(data.get("tags") or [])
        self.query_one("#is_active", Checkbox).value = bool(data.get("is_active", True))
        self.query_one("#approved", Checkbox).value = bool(data.get("approved", True))
        gold = normalize_level(content.get("gold_standard") or "")
        self.query_one("#gold_standard", Select).value = gold if gold else Select.NULL
        demographics = content.get("demographics")
        self.query_one("#demographics", Input).value = (
            json.dumps(demographics, ensure_ascii=False) if isinstance(demographics, dict) else str(demographics or ""))
        for key, _, _ in TEXT_FIELDS:
            self.query_one(f"#{key}", TextArea).text = str(content.get(key) or "")
        rubric = self.query_one("#rubric", VerticalGroup)
        await rubric.remove_children()
        await rubric.mount_all([CriterionEditor(item) for item in data.get("rubric_criteria") or []])
        self._renumber()

    def _renumber(self) -> None:
        editors = list(self.query(CriterionEditor))
        for n, editor in enumerate(editors, 1):
            editor.number(n)
        self.query_one("#rubric-title", Label).update(f"Rubric ({len(editors)} criteria)")

    # ------------------------------------------------------------------ rubric
    async def action_add_criterion(self) -> None:
        editor = CriterionEditor()
        await self.query_one("#rubric", VerticalGroup).mount(editor)
        self._renumber()
        editor.query_one(".criterion-text", Input).focus()
        editor.scroll_visible(animate=False)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button
        if button.has_class("criterion-remove"):
            editor = next(a for a in button.ancestors if isinstance(a, CriterionEditor))
            await editor.remove()
            self._renumber()
        elif button.id == "add-criterion":
            await self.action_add_criterion()
        elif button.id == "save":
            self.action_save()
        elif button.id == "cancel":
            self.action_back()

    # ------------------------------------------------------------------ collect, validate, save
    def _collect(self) -> tuple[dict[str, Any], dict[str, str], dict[int, str]]:
        """The update body; problems by field; problems by criterion index."""
        problems: dict[str, str] = {}
        name = self.query_one("#name", Input).value.strip()
        if not name:
            problems["name"] = "A name is required."
        priority_text = self.query_one("#priority", Input).value.strip()
        priority = None
        if priority_text:
            try:
                priority = int(priority_text)
            except ValueError:
                problems["priority"] = "Priority must be a whole number (or blank)."
        content = dict(self.original.get("content") or {})
        for key, _, _ in TEXT_FIELDS:
            text = self.query_one(f"#{key}", TextArea).text.strip()
            if text:
                content[key] = text
            else:
                content.pop(key, None)
        gold = self.query_one("#gold_standard", Select).value
        if gold is Select.NULL:
            content.pop("gold_standard", None)
        else:
            content["gold_standard"] = gold
        demographics_text = self.query_one("#demographics", Input).value.strip()
        if not demographics_text:
            content.pop("demographics", None)
        elif demographics_text.startswith("{"):
            try:
                content["demographics"] = json.loads(demographics_text)
            except ValueError as exc:
                problems["demographics"] = f"Not a valid JSON object ({exc.msg}); or write a plain phrase."
        else:
            content["demographics"] = demographics_text
        rubric: list[dict[str, Any]] = []
        criterion_problems: dict[int, str] = {}
        for i, editor in enumerate(self.query(CriterionEditor)):
            item, problem = editor.value()
            rubric.append(item)
            if problem:
                criterion_problems[i] = problem
        body = {
            "name": name, "category": self.query_one("#category", Input).value.strip() or None,
            "scenario_type": self.query_one("#scenario_type", Select).value, "priority": priority,
            "tags": split_tags(self.query_one("#tags", Input).value),
            "is_active": self.query_one("#is_active", Checkbox).value,
            "approved": self.query_one("#approved", Checkbox).value,
            "content": content, "rubric_criteria": rubric,
        }
        return body, problems, criterion_problems

    def _show_problems(self, problems: dict[str, str], by_criterion: dict[int, str], general: str = "") -> None:
        for error in self.query(".field-error").results(Static):
            if error.has_class("criterion-error"):
                continue
            key = (error.id or "").removeprefix("err-")
            error.update(problems.get(key, ""))
            error.display = key in problems
        for i, editor in enumerate(self.query(CriterionEditor)):
            editor.show_problem(by_criterion.get(i, ""))
        count = len(problems) + len(by_criterion)
        self.query_one("#form-error", Static).update(
            general or (f"{count} field{'s' if count != 1 else ''} to correct (marked above)." if count else ""))

    def _place(self, messages: list[str]) -> tuple[dict[str, str], dict[int, str], list[str]]:
        """Attach the store's messages (which name the field) to the fields; the rest stay general."""
        fields: dict[str, str] = {}
        criteria: dict[int, str] = {}
        rest: list[str] = []
        for message in messages:
            if match := _CRITERION_PROBLEM.match(message):
                criteria.setdefault(int(match.group(1)), message)
            elif match := _CONTENT_PROBLEM.match(message):
                fields.setdefault(match.group(1), message)
            elif (key := message.split(" ", 1)[0]) in ("name", "category", "priority", "tags", "rubric_criteria"):
                fields.setdefault(key, message)
            else:
                rest.append(message)
        return fields, criteria, rest

    def action_save(self) -> None:
        body, problems, by_criterion = self._collect()
        if problems or by_criterion:
            self._show_problems(problems, by_criterion)
            self.notify("Some fields need correcting before saving.", severity="warning")
            return
        svc = self.runtime.services
        try:
            if self.scenario_id:
                scenario = scenario_store.update_scenario(svc, self.scenario_id, body)
            else:
                scenario = scenario_store.create_scenario(svc, body)
        except InvalidInput as exc:
            fields, criteria, rest = self._place(list(exc.extra.get("problems") or [exc.message]))
            self._show_problems(fields, criteria, "; ".join(rest))
            self.notify(exc.message, title="Not saved", severity="error")
            return
        except PreclinicalError as exc:
            self._show_problems({}, {}, exc.message)
            self.report(exc, "Saving the scenario")
            return
        saved = scenario_json(scenario)
        note = f"Saved {scenario.name}."
        if saved["problems"]:
            note += f" Not runnable yet: {'; '.join(saved['problems'])}."
        self.notify(note, title="Scenario saved", severity="warning" if saved["problems"] else "information")
        self.initial = body
        if self.scenario_id:
            self.close()
        else:
            self.papp.show_scenario(scenario.scenario_id, replace=True)

    def action_back(self) -> None:
        if self.initial is not None and self._collect()[0] != self.initial:
            def answered(yes: bool | None) -> None:
                if yes:
                    self.close()

            self.app.push_screen(ConfirmDialog("Discard your changes?", "The scenario stays as it was saved.",
                                               confirm_label="Discard"), answered)
            return
        self.close()

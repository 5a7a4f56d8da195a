"""Create or edit an agent: the fields each provider needs (from the provider registry), validated inline."""

from __future__ import annotations

import json
import re
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup, VerticalGroup, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Select, Static, TextArea

from preclinical.errors import InvalidInput, NotFound, PreclinicalError
from preclinical.providers.registry import SPECS, ConfigField, config_value
from preclinical.store import agents as agent_store
from preclinical.store.serialize import agent_json
from preclinical.tui.screens.base import BaseScreen

_URL = re.compile(r"^(?:https?|wss?)://[^\s/]+", re.IGNORECASE)
_CONFIG_KEY = re.compile(r"^config\.(\w+)")


def field_widget(field: ConfigField, value: Any) -> Widget:
    """The input for one config field, filled with `value` (the stored, masked value when editing)."""
    wid = f"cfg-{field.key}"
    placeholder = f"default: {field.default}" if field.default not in (None, "") else field.help or ""
    if field.kind == "choice":
        options = [(c, c) for c in field.choices]
        fallback = field.default if field.default in field.choices else Select.NULL
        current = value if value in field.choices else fallback
        return Select(options, value=current, allow_blank=not field.required, id=wid, compact=True)
    if field.kind == "bool":
        return Checkbox(field.label, value=bool(value if value is not None else field.default), id=wid, compact=True)
    if field.kind == "json":
        text = json.dumps(value, indent=2, ensure_ascii=False) if value not in (None, "") else ""
        area = TextArea(text, id=wid, classes="json-field", soft_wrap=True, show_line_numbers=False)
        return area
    kinds = {"int": "integer", "float": "number"}
    return Input("" if value is None else str(value), id=wid, placeholder=placeholder,
                 password=field.kind == "secret", type=kinds.get(field.kind, "text"),
                 classes="secret" if field.kind == "secret" else "", compact=True)


class AgentFormScreen(BaseScreen):
    HOLDS_INPUT = True
    TITLE_TEXT = "Agent"
    HELP_TEXT = ("Fields marked * are required by the provider. Secrets are masked; a stored secret is kept "
                 "unless you type a new one. ctrl+s saves.")
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="agent_form.save", priority=True),
        Binding("f2", "toggle_secrets", "Show/hide secrets", id="agent_form.secrets"),
    ]

    def __init__(self, agent_id: str | None = None) -> None:
        super().__init__()
        self.agent_id = agent_id
        self.original: dict[str, Any] | None = None
        self.provider = "openai"
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="agent-form", classes="form"):
            yield Label("New agent", classes="form-title", id="form-title")
            yield Label("Name *", classes="field-label")
            yield Input(id="name", placeholder="e.g. Nurse line bot (staging)", compact=True)
            yield Static("", id="err-name", classes="field-error")
            yield Label("Description", classes="field-label")
            yield Input(id="description", placeholder="optional", compact=True)
            yield Label("Provider *", classes="field-label")
            yield Select([(f"{spec.label} ({name})", name) for name, spec in SPECS.items()], value="openai",
                         allow_blank=False, id="provider", compact=True)
            yield Static("", id="provider-about", classes="field-help")
            yield VerticalGroup(id="config-fields")
            yield Checkbox("Show secrets as typed (f2)", id="show-secrets", compact=True)
            yield Static("", id="form-error", classes="form-error")
            with HorizontalGroup(classes="form-buttons"):
                yield Button("Save  ctrl+s", variant="primary", id="save")
                yield Button("Cancel  esc", id="cancel")
        yield Footer()

    async def on_mount(self) -> None:
        if self.agent_id:
            try:
                agent = agent_store.get_agent(self.agent_id)
            except NotFound:
                self.notify("That agent no longer exists.", severity="error")
                self.close()
                return
            self.original = agent_json(agent)
            self.provider = agent.provider
            self.query_one("#form-title", Label).update(f"Edit agent: {agent.name}")
            self.query_one("#name", Input).value = agent.name
            self.query_one("#description", Input).value = agent.description or ""
            provider = self.query_one("#provider", Select)
            provider.value = agent.provider
            provider.disabled = True
        await self._build_config_fields()
        self.call_after_refresh(self.remember_form)
        self._loaded = True
        self.query_one("#name", Input).focus()

    def reload(self) -> None:
        """A form keeps what the user typed; nothing to reload."""

    # ------------------------------------------------------------------ fields
    async def _build_config_fields(self) -> None:
        spec = SPECS[self.provider]
        self.query_one("#provider-about", Static).update(spec.description or spec.label)
        box = self.query_one("#config-fields", VerticalGroup)
        await box.remove_children()  # the new fields reuse ids, so the old ones must be gone first
        config = (self.original or {}).get("config") or {}
        widgets: list[Widget] = []
        for field in spec.fields:
            value = config_value(config, field)
            if field.kind != "bool":
                widgets.append(Label(field.label + (" *" if field.required else ""), classes="field-label"))
            widgets.append(field_widget(field, value))
            if field.help and field.kind in ("json", "bool", "choice"):
                widgets.append(Static(field.help, classes="field-help"))
            widgets.append(Static("", id=f"err-{field.key}", classes="field-error"))
        if not spec.fields:
            widgets.append(Static("This provider needs no configuration.", classes="field-help"))
        await box.mount_all(widgets)

    async def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "provider" and self._loaded and event.value != self.provider \
                and event.value is not Select.NULL:
            self.provider = str(event.value)
            await self._build_config_fields()
            first = self.query("#config-fields Input, #config-fields Select, #config-fields TextArea")
            if first:
                first.first().focus()  # straight on to the provider's first field

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "show-secrets":
            for field in self.query("Input.secret").results(Input):
                field.password = not event.value

    def action_toggle_secrets(self) -> None:
        box = self.query_one("#show-secrets", Checkbox)
        box.value = not box.value

    # ------------------------------------------------------------------ validation and save
    def _collect(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The request body and the problems found before asking the store (field → message)."""
        problems: dict[str, str] = {}
        name = self.query_one("#name", Input).value.strip()
        if not name:
            problems["name"] = "A name is required."
        config: dict[str, Any] = {}
        stored = (self.original or {}).get("config") or {}
        for field in SPECS[self.provider].fields:
            widget = self.query_one(f"#cfg-{field.key}")
            had = config_value(stored, field) is not None
            value: Any
            if isinstance(widget, Select):
                value = None if widget.value is Select.NULL else widget.value
            elif isinstance(widget, Checkbox):
                value = widget.value
            elif isinstance(widget, TextArea):
                text = widget.text.strip()
                value = None
                if text:
                    try:
                        value = json.loads(text)
                    except ValueError as exc:
                        problems[field.key] = f"Not valid JSON: {exc.msg} (line {exc.lineno})."
                        continue
                    if not isinstance(value, (dict, list)):
                        problems[field.key] = "Must be a JSON object."
                        continue
            else:
                text = widget.value.strip()
                value = text or None
                if text and field.kind == "int":
                    try:
                        value = int(text)
                    except ValueError:
                        problems[field.key] = "Must be a whole number."
                        continue
                elif text and field.kind == "float":
                    try:
                        value = float(text)
                    except ValueError:
                        problems[field.key] = "Must be a number."
                        continue
                if text and field.key.endswith("url") and not _URL.match(text):
                    problems[field.key] = ("Must be a URL starting with http:// or https:// "
                                           "(ws:// or wss:// for sockets).")
                    continue
            if value is None:
                if field.required:
                    problems[field.key] = f"{field.label} is required."
                elif had:
                    config[field.key] = None  # cleared on purpose
                continue
            config[field.key] = value
        description = self.query_one("#description", Input).value.strip() or None
        body: dict[str, Any] = {"name": name, "description": description, "config": config}
        if not self.agent_id:
            body["provider"] = self.provider
        return body, problems

    def _show_problems(self, problems: dict[str, str], general: str = "") -> None:
        for error in self.query(".field-error").results(Static):
            key = (error.id or "").removeprefix("err-")
            error.update(problems.get(key, ""))
            error.display = key in problems
        message = general or ("Please correct the fields marked below." if problems else "")
        self.query_one("#form-error", Static).update(message)
        if problems:
            first = next(iter(problems))
            target = self.query(f"#cfg-{first}") or self.query(f"#{first}")
            if target:
                target.first().focus()

    def action_save(self) -> None:
        body, problems = self._collect()
        if problems:
            self._show_problems(problems)
            return
        svc = self.runtime.services
        try:
            if self.agent_id:
                agent = agent_store.update_agent(svc, self.agent_id, body)
            else:
                agent = agent_store.create_agent(svc, body)
        except InvalidInput as exc:
            self._show_problems(self._place(exc.message), exc.message)
            return
        except PreclinicalError as exc:
            self._show_problems({}, exc.message)
            return
        self.notify(f"Saved agent {agent.name}.", title="Agent saved")
        self.app.call_later(self.papp.show_agents, agent.id)

    def _place(self, message: str) -> dict[str, str]:
        """Attach a store error to the field it names (config.<key>, name, the browser profile)."""
        match = _CONFIG_KEY.match(message)
        if match:
            key = match.group(1)
            for field in SPECS[self.provider].fields:
                if key == field.key or key in field.aliases:
                    return {field.key: message}
        if message.startswith("name"):
            return {"name": message}
        if "Profile ID" in message:
            return {"profile_id": message}
        return {}

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        elif event.button.id == "cancel":
            self.leave_form()

    def action_back(self) -> None:
        self.leave_form()

"""Generate scenarios from pasted clinical text or a document, with progress; results are drafts to approve."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalGroup, VerticalGroup, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, DataTable, Footer, Header, Input, Label, ProgressBar, Static, TextArea
from textual.worker import Worker, WorkerState

from preclinical.errors import NotFound
from preclinical.store import scenarios as scenario_store
from preclinical.store import stats
from preclinical.store.serialize import scenario_json
from preclinical.tui import formatting as fmt
from preclinical.tui.screens import scenario_actions
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.scenarios import state_label

NO_MODEL_NOTE = ("No language model is configured, so scenarios cannot be generated here. Set OPENAI_API_KEY or "
                 "OPENAI_BASE_URL (any OpenAI-compatible endpoint, e.g. Ollama) and restart Preclinical. "
                 "Meanwhile you can write scenarios by hand: s → n opens the editor.")


@dataclass
class GenerationProgress(Message):
    done: int
    total: int
    label: str


class GenerateScreen(BaseScreen):
    HOLDS_INPUT = True
    TITLE_TEXT = "Generate scenarios"
    HELP_TEXT = ("Paste clinical text (a protocol, a guideline, a case) or give a document path (.txt, .md, .pdf, "
                 ".docx). Single mode writes one scenario; batch mode one per distinct process. Results are drafts: "
                 "review them, then approve (p).")
    BINDINGS = [
        Binding("ctrl+s", "generate", "Generate", id="generate.run", priority=True),
        Binding("p", "approve", "Approve", id="generate.approve"),
        Binding("P", "approve_all", "Approve all", id="generate.approve_all", key_display="shift+p"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.result_ids: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="generate", classes="form"):
            yield Label("Generate scenarios", classes="form-title")
            yield Static(NO_MODEL_NOTE, id="no-model", classes="warning-box")
            yield Checkbox("Batch mode: one scenario per distinct clinical process in a long document", id="batch",
                           compact=True)
            with HorizontalGroup(classes="form-row"):
                with VerticalGroup(classes="form-cell", id="name-cell"):
                    yield Label("Name (single mode)", classes="field-label")
                    yield Input(id="name", placeholder="written by the model if blank", compact=True)
                with VerticalGroup(classes="form-cell"):
                    yield Label("Category", classes="field-label")
                    yield Input(id="category", placeholder="e.g. cardiac, respiratory, emergency", compact=True)
                with VerticalGroup(classes="form-cell"):
                    yield Label("Tags (comma-separated)", classes="field-label")
                    yield Input(id="tags", placeholder="generated, chest-pain", compact=True)
            yield Label("Document (.txt .md .pdf .docx), or paste the text below", classes="field-label")
            yield Input(id="path", placeholder="path/to/protocol.pdf", compact=True)
            yield Label("Clinical text", classes="field-label", id="text-label")
            yield TextArea(id="text", soft_wrap=True, classes="text-field")
            with HorizontalGroup(classes="form-buttons"):
                yield Button("Generate  ctrl+s", variant="primary", id="generate-button")
            with VerticalGroup(id="progress-box"):
                yield ProgressBar(id="progress", show_eta=False)
                yield Static("", id="progress-label")
            yield Label("Drafts from this session", classes="panel-title")
            yield DataTable(id="drafts", cursor_type="row", zebra_stripes=True)
            yield Static("Nothing generated yet.", id="no-drafts", classes="empty-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#no-model").display = self.runtime.llm is None
        self.query_one("#progress-box").display = False
        self.query_one("#category", Input).suggester = SuggestFromList(stats.scenario_facets()["categories"])
        table = self.query_one("#drafts", DataTable)
        table.add_columns("Name", "Category", "Gold", "Criteria", "State")
        table.display = False
        self.query_one("#text", TextArea).focus()

    def reload(self) -> None:
        self._show_results()

    # ------------------------------------------------------------------ form
    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "batch":
            self.query_one("#name-cell").display = not event.value

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if event.text_area.id == "text":
            self.query_one("#text-label", Label).update(f"Clinical text ({len(event.text_area.text):,} characters)")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "generate-button":
            self.action_generate()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("approve", "approve_all") and not self.result_ids:
            return None
        return True

    def action_generate(self) -> None:
        if self.runtime.llm is None:
            self.notify(NO_MODEL_NOTE, title="No language model", severity="error", timeout=10)
            return
        path = self.query_one("#path", Input).value.strip()
        text = self.query_one("#text", TextArea).text
        if not path and not text.strip():
            self.notify("Paste some clinical text or give a document path first.", severity="warning")
            return
        options = {
            "batch": self.query_one("#batch", Checkbox).value,
            "name": self.query_one("#name", Input).value.strip() or None,
            "category": self.query_one("#category", Input).value.strip() or None,
            "tags": [t.strip() for t in self.query_one("#tags", Input).value.split(",") if t.strip()],
        }
        self._show_progress(0, 0, "Reading the document…" if path else "Asking the model…")
        self.query_one("#generate-button", Button).disabled = True
        self.generate(path, text, options)

    # ------------------------------------------------------------------ the work
    @work(exclusive=True, exit_on_error=False, group="generate", description="Scenario generation")
    async def generate(self, path: str, text: str, options: dict[str, Any]) -> list[str]:
        from preclinical.engine.generator import generate_batch, generate_one
        from preclinical.library.documents import read_document

        if path:
            text = await asyncio.to_thread(read_document, Path(path).expanduser())
            self.post_message(GenerationProgress(0, 0, f"Read {len(text):,} characters; asking the model…"))
        svc = self.runtime.services
        if options["batch"]:
            def progress(done: int, total: int, label: str) -> None:
                self.post_message(GenerationProgress(done, total, label))

            rows = await generate_batch(self.runtime.llm, svc, text=text, category=options["category"],
                                        tags=options["tags"], on_progress=progress)
        else:
            rows = [await generate_one(self.runtime.llm, svc, text=text, category=options["category"],
                                       name=options["name"], tags=options["tags"])]
        return [row.scenario_id for row in rows]

    def on_generation_progress(self, message: GenerationProgress) -> None:
        self._show_progress(message.done, message.total, message.label)

    def _show_progress(self, done: int, total: int, label: str) -> None:
        self.query_one("#progress-box").display = True
        bar = self.query_one("#progress", ProgressBar)
        if total:
            bar.update(total=total, progress=done)
            label = f"Section {min(done + 1, total)} of {total}: {label}" if done < total else f"Done: {label}"
        else:
            bar.update(total=None)
        self.query_one("#progress-label", Static).update(Text(label))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "generate":
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.query_one("#generate-button", Button).disabled = False
            self.query_one("#progress-box").display = False
        if event.state == WorkerState.SUCCESS:
            ids = event.worker.result or []
            self.result_ids = list(ids) + [i for i in self.result_ids if i not in ids]
            self._show_results()
            self.notify(f"Generated {len(ids)} draft scenario{'s' if len(ids) != 1 else ''}; review, then approve (p).",
                        title="Drafts ready")
        # errors go on to the app's funnel, which shows them

    # ------------------------------------------------------------------ results
    def _show_results(self) -> None:
        table = self.query_one("#drafts", DataTable)
        table.clear()
        kept = []
        for scenario_id in self.result_ids:
            try:
                data = scenario_json(scenario_store.get_scenario(scenario_id))
            except NotFound:
                continue
            kept.append(scenario_id)
            state = state_label(data["approved"], data["is_active"])
            if data["problems"]:
                state.append(" ⚠", style="yellow")
            table.add_row(fmt.plain(data["name"]), fmt.plain(data["category"] or "—"),
                          fmt.level((data["content"] or {}).get("gold_standard")),
                          str(len(data["rubric_criteria"])), state, key=scenario_id)
        self.result_ids = kept
        self.refresh_bindings()
        table.display = bool(kept)
        self.query_one("#no-drafts").display = not kept

    def _selected(self) -> str | None:
        table = self.query_one("#drafts", DataTable)
        if not self.result_ids or table.cursor_row >= len(self.result_ids):
            return None
        return self.result_ids[table.cursor_row]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.papp.show_scenario(event.row_key.value)

    def action_approve(self) -> None:
        if (sid := self._selected()) and scenario_actions.approve(self, sid):
            self._show_results()

    def action_approve_all(self) -> None:
        for sid in list(self.result_ids):
            scenario_actions.approve(self, sid)
        self._show_results()

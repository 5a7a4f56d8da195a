"""What every screen shares: the runtime, reload on resume, coalesced live refreshes, palette commands, errors."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import platformdirs
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from preclinical.errors import PreclinicalError
from preclinical.runtime import Runtime
from preclinical.tui.messages import BusEvent

if TYPE_CHECKING:
    from preclinical.tui.app import PreclinicalApp

NARROW_BELOW = 100  # columns; under this, side-by-side panels stack
LIVE_REFRESH_S = 0.1  # bus events arriving within this window are applied in one repaint


@dataclass(frozen=True)
class PaletteCommand:
    title: str
    help: str
    callback: Callable[[], Any]


def downloads_dir() -> Path:
    """Where the interface saves files the user asked for (exports, screenshots): their Downloads folder."""
    return platformdirs.user_downloads_path()


class BaseScreen(Screen):
    """A screen over the runtime. Subclasses implement `reload()` (read the store, fill widgets)."""

    TITLE_TEXT: ClassVar[str] = ""  # shown in the header's subtitle and the help screen
    HELP_TEXT: ClassVar[str] = ""  # a sentence or two for the help screen
    HOLDS_INPUT: ClassVar[bool] = False  # a form: single-letter section keys are off (see the app)
    BINDINGS = [Binding("escape", "back", "Back", id="screen.back")]

    def __init__(self) -> None:
        super().__init__()
        self._pending_refresh: Timer | None = None
        self._computing: dict[str, bool] = {}  # key -> asked again while running

    @property
    def runtime(self) -> Runtime:
        return self.app.runtime

    @property
    def papp(self) -> PreclinicalApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self.sub_title = self.TITLE_TEXT

    async def on_screen_resume(self) -> None:
        # Also sent when the screen is first shown; after a modal or a deeper screen closes it
        # brings the screen up to date with whatever changed meanwhile.
        await self._call(self.reload)

    def on_resize(self) -> None:
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")

    def reload(self) -> Awaitable[None] | None:
        """Read the store and fill the widgets (may be async when it replaces widgets)."""

    @staticmethod
    async def _call(method: Callable[[], Awaitable[None] | None]) -> None:
        result = method()
        if inspect.isawaitable(result):
            await result

    def action_back(self) -> None:
        self.close()

    # ------------------------------------------------------------------ forms: ask before discarding
    NOT_FORM_STATE: ClassVar[tuple[str, ...]] = ()  # widget ids that filter or view, not what is being edited
    _pristine: tuple[tuple[str, str], ...] | None = None

    def form_values(self) -> tuple[tuple[str, str], ...]:
        """What the form holds now (inputs, selects, checkboxes, text areas by id)."""
        from textual.widgets import TextArea

        values = []
        for widget in self.query("Input, Select, Checkbox, TextArea"):
            if widget.id and widget.id not in self.NOT_FORM_STATE:
                value = widget.text if isinstance(widget, TextArea) else getattr(widget, "value", None)
                values.append((widget.id, repr(value)))
        return tuple(values)

    def remember_form(self) -> None:
        """Take the form as it is now as the unchanged state (call once it is filled in)."""
        self._pristine = self.form_values()

    def leave_form(self) -> None:
        """Close, but ask first when the form was changed since `remember_form`."""
        if self._pristine is None or self.form_values() == self._pristine:
            self.close()
            return
        from preclinical.tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self.close()

        self.app.push_screen(ConfirmDialog("Discard your changes?", "Nothing you typed here has been saved.",
                                           confirm_label="Discard"), answered)

    def close(self) -> None:
        """Leave this screen if it is showing (dismiss pops whatever is on top, so check first)."""
        if self.is_current and len(self.app.screen_stack) > 2:
            self.dismiss()

    # ------------------------------------------------------------------ live updates
    def on_bus_event(self, message: BusEvent) -> None:
        if self.wants(message.event):
            self.note_event(message.event)
            self.schedule_live_refresh()

    def wants(self, event: Any) -> bool:
        """Whether a bus event concerns this screen."""
        return False

    def note_event(self, event: Any) -> None:
        """Record what an event changed (cheap: no store reads, no widget updates)."""

    def schedule_live_refresh(self) -> None:
        if self._pending_refresh is None:
            self._pending_refresh = self.set_timer(LIVE_REFRESH_S, self._run_live_refresh)

    async def _run_live_refresh(self) -> None:
        self._pending_refresh = None
        if self.is_attached:
            await self._call(self.live_refresh)

    def live_refresh(self) -> Awaitable[None] | None:
        """Apply the changes noted since the last refresh (default: a full reload)."""
        return self.reload()

    # ------------------------------------------------------------------ slow reads off the event loop
    def compute_in_thread(self, key: str, compute: Callable[[], Any], apply: Callable[[Any], None]) -> None:
        """Run `compute()` (a store read that grows with the run) in a thread, then `apply(result)` on the loop.

        The interface stays responsive however long it takes. Asking again while one runs does not start a
        second thread: one more run follows the current one, so the result always reflects the latest state.
        """
        if key in self._computing:
            self._computing[key] = True
            return
        self._computing[key] = False
        self.run_worker(self._compute_loop(key, compute, apply), group=f"compute-{key}", exit_on_error=False)

    async def _compute_loop(self, key: str, compute: Callable[[], Any], apply: Callable[[Any], None]) -> None:
        try:
            while True:
                self._computing[key] = False
                try:
                    result = await asyncio.to_thread(compute)
                except PreclinicalError as exc:
                    self.notify(exc.message, severity="error")
                    return
                if self.is_attached:
                    apply(result)
                if not self._computing.get(key):
                    return
        finally:
            self._computing.pop(key, None)

    def computing(self, key: str) -> bool:
        """Whether `compute_in_thread(key, ...)` is still working."""
        return key in self._computing

    # ------------------------------------------------------------------ palette and errors
    def palette_commands(self) -> list[PaletteCommand]:
        """This screen's actions for the command palette: every enabled binding with a label, plus extras."""
        commands: list[PaletteCommand] = []
        seen: set[str] = set()
        for bindings in self._bindings.key_to_bindings.values():
            for binding in bindings:
                if not (binding.id and binding.description) or binding.action in seen or binding.action == "back":
                    continue
                if self.check_action(binding.action, ()) is not True:  # disabled now
                    continue
                seen.add(binding.action)
                key = binding.key_display or binding.key
                help_text = binding.tooltip or f"{self.TITLE_TEXT or 'This screen'} · key {key}"
                commands.append(PaletteCommand(binding.description, help_text,
                                               lambda action=binding.action: self.run_action(action)))
        return commands + self.extra_commands()

    def extra_commands(self) -> list[PaletteCommand]:
        return []

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Worker messages do not bubble: hand failures to the app's single funnel.
        if event.state == WorkerState.ERROR:
            self.papp.report_worker_failure(event.worker)

    def report(self, exc: PreclinicalError, doing: str) -> None:
        """A core error as a notification that says what happened."""
        self.notify(f"{doing}: {exc.message}", title="Could not do that", severity="error")

"""The Textual application: one front end over the runtime (it never calls its own HTTP API)."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from preclinical import __version__
from preclinical.bus import Event
from preclinical.runtime import Runtime
from preclinical.tui.messages import BusEvent
from preclinical.tui.screens.dashboard import DashboardScreen


class PreclinicalApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Preclinical"
    SUB_TITLE = f"v{__version__}"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True)]

    def __init__(self, runtime: Runtime, *, api_url: str | None = None, api_error: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.api_url = api_url
        self.api_error = api_error
        self._stop_listening = None

    def on_mount(self) -> None:
        self._stop_listening = self.runtime.bus.listen(self._forward)
        self.push_screen(DashboardScreen(self.runtime, self.api_url, self.api_error))

    def on_unmount(self) -> None:
        if self._stop_listening:
            self._stop_listening()

    def _forward(self, event: Event) -> None:
        # Called on the loop thread by the bus; hand the event to whatever screen is showing.
        self.screen.post_message(BusEvent(event))

"""The Textual application: one front end over the runtime (it never calls its own HTTP API)."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from preclinical import __version__
from preclinical.bus import Event
from preclinical.domain.run import RunRequest
from preclinical.errors import PreclinicalError
from preclinical.runtime import Runtime
from preclinical.store.models import TestRun
from preclinical.tui.commands import PreclinicalCommands
from preclinical.tui.messages import BusEvent
from preclinical.tui.screens.base import downloads_dir
from preclinical.tui.screens.dashboard import DashboardScreen

log = logging.getLogger(__name__)
SCREENSHOT_SETTLE_S = 0.4

SECTION_ACTIONS = ("dashboard", "agents", "scenarios", "generate")


class PreclinicalApp(App[None]):
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "Preclinical"
    SUB_TITLE = f"v{__version__}"
    COMMANDS = {PreclinicalCommands}  # ours lists the screen's actions first, then the app's (themes, quit…)
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True, show=False,
                tooltip="Quit (runs in progress resume at the next start)"),
        Binding("d", "dashboard", "Dashboard", id="app.dashboard"),
        Binding("a", "agents", "Agents", id="app.agents"),
        Binding("s", "scenarios", "Scenarios", id="app.scenarios"),
        Binding("g", "generate", "Generate", id="app.generate", show=False),
        Binding("question_mark,f1", "help", "Help", id="app.help", key_display="?"),
        Binding("ctrl+t", "toggle_dark", "Light/dark", id="app.theme", show=False),
    ]

    def __init__(self, runtime: Runtime, *, api_url: str | None = None, api_error: str | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.api_url = api_url
        self.api_error = api_error
        self._stop_listening: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle and the bus
    def on_mount(self) -> None:
        self._stop_listening = self.runtime.bus.listen(self._forward)
        self.push_screen(DashboardScreen())
        # Everything loaded so far (modules, the app, the first screen) lives as long as the process;
        # freezing it keeps the collector's full passes short, which otherwise stall the loop for
        # 30-60 ms at a time while a run is busy.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        if self._stop_listening:
            self._stop_listening()
        gc.unfreeze()

    def _forward(self, event: Event) -> None:
        # Called on the loop thread by the bus; the screen showing decides what the event means to it.
        # Screens underneath catch up when they are shown again (they reload on resume).
        if self.is_running and self.screen_stack:
            self.screen.post_message(BusEvent(event))

    @on(Worker.StateChanged)
    def _app_worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_worker_failure(event.worker)

    def report_worker_failure(self, worker: Worker[Any]) -> None:
        """The one funnel for failed background work (screens forward theirs): a notification, not a crash."""
        error = worker.error
        what = worker.description or worker.name or "Background work"
        if isinstance(error, PreclinicalError):
            message = error.message
        else:
            message = f"{type(error).__name__}: {error}. The log file has the details."
            log.error("%s failed", what, exc_info=error)
        if not message.lower().startswith(what.lower()):
            message = f"{what} failed: {message}"
        self.notify(message, title="Something went wrong", severity="error", timeout=10)

    # ------------------------------------------------------------------ navigation
    async def _open_section(self, screen: Screen) -> None:
        """Back to the dashboard, then the section on top of it (the stack stays short)."""
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        if screen is not None:
            await self.push_screen(screen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # On a form a stray letter (focus on a checkbox or a button) must not throw the typing away:
        # there the section keys are off; escape leaves the form, and the palette still goes anywhere.
        if action in SECTION_ACTIONS and getattr(self.screen, "HOLDS_INPUT", False):
            return False
        return True

    async def action_dashboard(self) -> None:
        await self.show_dashboard()

    async def action_agents(self) -> None:
        await self.show_agents()

    async def action_scenarios(self) -> None:
        await self.show_scenarios()

    async def action_generate(self) -> None:
        await self.show_generate()

    async def show_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            await self.pop_screen()

    async def show_scenarios(self) -> None:
        from preclinical.tui.screens.scenarios import ScenariosScreen

        await self._open_section(ScenariosScreen())

    async def show_generate(self) -> None:
        from preclinical.tui.screens.generate import GenerateScreen

        await self._open_section(GenerateScreen())

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the whole screen and say where it went.

        Taken a moment later: from the command palette, the screen underneath (its footer, its panes) is
        still being put back together when the command runs, and an immediate capture missed those parts.
        """
        self.set_timer(SCREENSHOT_SETTLE_S, lambda: self._save_screenshot(filename, path))

    def _save_screenshot(self, filename: str | None, path: str | None) -> None:
        folder = Path(path).expanduser() if path else downloads_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder))
        except OSError as exc:
            self.notify(f"Could not save the screenshot in {folder}: {exc.strerror or exc}.",
                        title="Screenshot not saved", severity="error")
            return
        self.notify(f"Saved {saved}", title="Screenshot saved")

    def action_help(self) -> None:
        from preclinical.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    async def show_agents(self, agent_id: str | None = None) -> None:
        from preclinical.tui.screens.agents import AgentsScreen

        await self._open_section(AgentsScreen(agent_id))

    def show_agent_form(self, agent_id: str | None = None) -> None:
        from preclinical.tui.screens.agent_form import AgentFormScreen

        self.push_screen(AgentFormScreen(agent_id))

    def show_new_run(self, agent_id: str | None = None, scenario_ids: list[str] | None = None) -> None:
        from preclinical.tui.screens.new_run import NewRunScreen

        self.push_screen(NewRunScreen(agent_id, scenario_ids))

    def show_run(self, run_id: str, *, replace: bool = False) -> None:
        from preclinical.tui.screens.run import RunScreen

        screen = RunScreen(run_id)
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def show_scenario_run(self, scenario_run_id: str, *, replace: bool = False) -> None:
        from preclinical.tui.screens.scenario_run import ScenarioRunScreen

        screen = ScenarioRunScreen(scenario_run_id)
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def show_scenario(self, scenario_id: str, *, replace: bool = False) -> None:
        from preclinical.tui.screens.scenario_detail import ScenarioDetailScreen

        screen = ScenarioDetailScreen(scenario_id)
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def show_scenario_editor(self, scenario_id: str | None = None, *, replace: bool = False) -> None:
        from preclinical.tui.screens.scenario_editor import ScenarioEditorScreen

        screen = ScenarioEditorScreen(scenario_id)
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    # ------------------------------------------------------------------ shared actions
    def start_run(self, request: RunRequest | dict[str, Any]) -> TestRun | None:
        """Start a run; on a refusal say why (the executor's message names the field) and return None."""
        try:
            run, plan = self.runtime.executor.start(request)
        except PreclinicalError as exc:
            self.notify(exc.message, title="The run did not start", severity="error", timeout=8)
            return None
        note = f"{run.total_scenarios} scenarios"
        if plan.skipped:
            note += f"; {len(plan.skipped)} skipped (not runnable)"
        if plan.not_gradable_offline:
            note += f"; {len(plan.not_gradable_offline)} not gradable offline (no machine checks, no model)"
        self.notify(f"Started {run.name or run.test_run_id}: {note}.", title="Run started")
        return run

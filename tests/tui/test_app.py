"""App-wide behaviour: section keys, the command palette, help, themes, key bindings, small terminals."""

from __future__ import annotations

import asyncio

from textual.binding import Binding
from textual.command import CommandPalette
from textual.widgets import Input

from preclinical.library import DEMO_AGENT_ID
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.agent_form import AgentFormScreen
from preclinical.tui.screens.agents import AgentsScreen
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.dashboard import DashboardScreen
from preclinical.tui.screens.dialogs import PathDialog
from preclinical.tui.screens.generate import GenerateScreen
from preclinical.tui.screens.help import HelpScreen
from preclinical.tui.screens.new_run import NewRunScreen
from preclinical.tui.screens.run import RunScreen
from preclinical.tui.screens.scenarios import ScenariosScreen
from tests.tui.driving import text_of, wait_until


async def test_section_keys_go_anywhere_and_escape_goes_back(app):
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("a")
        assert isinstance(app.screen, AgentsScreen)
        await pilot.press("r")
        assert isinstance(app.screen, NewRunScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, AgentsScreen)
        await pilot.press("s")
        assert isinstance(app.screen, ScenariosScreen)
        await pilot.press("g")
        assert isinstance(app.screen, GenerateScreen)
        assert len(app.screen_stack) == 3  # default screen, dashboard, the section: the stack stays short
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")  # nothing below the dashboard
        assert isinstance(app.screen, DashboardScreen)


async def test_command_palette_offers_the_screens_actions_and_runs_them(app, runtime):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"new ag")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, AgentFormScreen), what="the agent form")

        # On a run screen the palette has the run's own actions (context-sensitive).
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        titles = [c.title for c in app.screen.palette_commands()]
        assert {"Export CSV", "Export JSON", "Filter", "Delete"} <= set(titles)
        assert "Cancel run" not in titles  # the run is finished
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"csv")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PathDialog), what="the export dialog")


async def test_help_lists_the_keys_of_the_screen_it_was_opened_on(app, runtime):
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2})
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app.screen.query_one("#help-keys Static"))
        for label in ("Export CSV", "Rerun failed", "Filter", "Dashboard", "Command palette"):
            assert label in keys
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        # Where text is typed, ? is a character; F1 still opens help.
        app.show_new_run()
        await wait_until(pilot, lambda: isinstance(app.screen, NewRunScreen))
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press("question_mark")
        assert app.focused.value == "?"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_light_and_dark_themes_toggle(app):
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-light"
        await pilot.press("ctrl+t")
        assert app.theme == "textual-dark"


def test_every_binding_has_an_id_and_a_label():
    from preclinical.tui.screens import (
        agent_form,
        agents,
        dashboard,
        generate,
        new_run,
        run,
        scenario_detail,
        scenario_editor,
        scenario_run,
        scenarios,
    )

    classes = [PreclinicalApp]
    for module in (agent_form, agents, dashboard, generate, new_run, run, scenario_detail, scenario_editor,
                   scenario_run, scenarios):
        classes += [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, BaseScreen)
                    and c is not BaseScreen]
    assert len(classes) == 11
    ids: set[str] = set()
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding), (cls, binding)
            assert binding.id and binding.description, (cls.__name__, binding.key)
            assert binding.id not in ids or binding.id == "screen.back", binding.id
            ids.add(binding.id)


async def test_small_terminal_keeps_every_screen_usable(app, runtime):
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.screen.has_class("-narrow")
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        screen = app.screen
        # Gold and Triage are what a triage run is about: Turn and Duration give way first.
        assert screen.columns == ("pos", "scenario", "gold", "result", "triage", "score")
        table = screen.query_one("#scenario-table")
        assert table.size.height >= 5 and table.row_count == 3
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.query("#criteria") and app.screen.query_one("#criteria").row_count)
        conversation, grading = app.screen.query_one("#sr-conversation"), app.screen.query_one("#sr-grading")
        assert conversation.size.height >= 5 and grading.size.height >= 5
        assert conversation.region.y < grading.region.y  # stacked, not squeezed side by side

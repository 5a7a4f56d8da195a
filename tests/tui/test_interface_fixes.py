"""Interface fixes found by trying the TUI as a new user (issue 14)."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from preclinical.library import DEMO_AGENT_ID, load_library
from preclinical.store import agents as agent_store
from preclinical.store.models import ScenarioRun
from preclinical.tui import formatting as fmt
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.agent_form import AgentFormScreen
from preclinical.tui.screens.dashboard import DashboardScreen
from preclinical.tui.screens.dialogs import ConfirmDialog
from preclinical.tui.screens.new_run import NewRunScreen
from preclinical.tui.screens.run import RunScreen
from preclinical.tui.screens.scenario_run import ScenarioRunScreen
from tests.tui.conftest import API_URL
from tests.tui.driving import Notifications, text_of, wait_until


def test_the_sparkline_is_on_a_fixed_0_to_100_scale():
    assert fmt.rate_sparkline([98.0, 98.0]).plain == "██"
    assert fmt.rate_sparkline([0.0, 0.0]).plain == "▁▁"  # no longer the same flat line as 98 %
    line = fmt.rate_sparkline([0.0, 50.0, 100.0])
    assert line.plain == "▁▅█"
    assert [span.style for span in line.spans] == ["red", "yellow", "green"]


def test_a_long_run_id_keeps_its_distinguishing_tail():
    assert fmt.run_label({"name": None, "test_run_id": "run_20260301090002_ptp5"}, 20) == "…20260301090002_ptp5"
    assert fmt.run_label({"name": "Nightly", "test_run_id": "run_x"}, 20) == "Nightly"


async def test_escape_on_a_changed_form_asks_before_discarding(app):
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_agent_form(None)
        await wait_until(pilot, lambda: isinstance(app.screen, AgentFormScreen) and app.screen._pristine is not None)
        await pilot.press("escape")  # unchanged: leaves at once
        await wait_until(pilot, lambda: not isinstance(app.screen, AgentFormScreen), what="the form closed")

        app.show_agent_form(None)
        await wait_until(pilot, lambda: isinstance(app.screen, AgentFormScreen) and app.screen._pristine is not None)
        form = app.screen
        form.query_one("#name", Input).value = "Half-typed bot"
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # keep editing: nothing lost
        assert app.screen is form and form.query_one("#name", Input).value == "Half-typed bot"
        await pilot.press("escape", "y")
        await wait_until(pilot, lambda: not isinstance(app.screen, AgentFormScreen), what="discarded")


async def test_new_runs_count_follows_max_scenarios(app):
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_new_run(DEMO_AGENT_ID, None)
        await wait_until(pilot, lambda: isinstance(app.screen, NewRunScreen) and app.screen._pristine is not None)
        form = app.screen
        everything = len(load_library())
        assert text_of(form.query_one("#selection-count")) == f"Every active scenario will run: {everything}"
        form.query_one("#max-scenarios", Input).value = "5"
        await wait_until(pilot, lambda: f"the first 5 of {everything}" in text_of(form.query_one("#selection-count")))
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmDialog)  # Max scenarios was changed: ask
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))


async def test_a_finished_run_header_filters_and_verdict_agree(app, runtime):
    async with app.run_test(size=(80, 24)) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        screen = app.screen
        head = text_of(screen.query_one("#run-outcome"))
        filters = text_of(screen.query_one("#filters"))
        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
        passed = sum(r.status == "passed" for r in rows)
        assert f"{passed} passed" in head and f"Pass {passed}" in filters
        assert f"{3 - passed} failed" in head and f"Fail {3 - passed}" in filters
        assert head.startswith("Passed" if passed == 3 else "Failed")
        assert "cancel_run" not in [active.binding.action for active in app.active_bindings.values()]
        assert "Canceled 0" in filters  # every filter fits at 80 columns


async def test_an_errored_scenario_run_says_why_it_has_no_grading(runtime, fake_openai):
    fake_openai.inject("401", times=-1)
    agent = agent_store.create_agent(runtime.services, {
        "provider": "openai", "name": "Locked bot",
        "config": {"base_url": fake_openai.url, "api_key": "wrong", "target_model": "m"}})
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.start_run({"agent_id": agent.id, "max_scenarios": 1})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        assert text_of(app.screen.query_one("#run-outcome")).startswith("No verdict")  # not red "Failed"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioRunScreen) and app.screen.data)
        why = text_of(app.screen.query_one("#grade-summary"))
        assert why.startswith("Not graded: the scenario run ended in an error")
        assert "not a verdict on the agent" in why and "No grading yet" not in why


async def test_save_a_screenshot_writes_the_whole_screen_where_it_says(app, downloads):
    notes = Notifications()
    async with app.run_test(size=(100, 30), message_hook=notes) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        app.action_screenshot()
        await wait_until(pilot, lambda: notes.any("Saved "), what="the screenshot note")
        [svg] = downloads.glob("*.svg")
        assert notes.any(str(svg))
        page = svg.read_text(encoding="utf-8")
        assert "palette" in page and "Recent" in page and "Readiness" in page  # footer and panels included

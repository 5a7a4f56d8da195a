"""The Run screen writes the HTML report (h), through the same path dialog as the other exports."""

from __future__ import annotations

import asyncio

from textual.widgets import Input

from preclinical.library import DEMO_AGENT_ID
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.dialogs import PathDialog
from preclinical.tui.screens.run import RunScreen
from tests.tui.conftest import API_URL
from tests.tui.driving import Notifications, wait_until


async def test_h_writes_the_html_report(runtime, downloads):
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen

        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, PathDialog), what="the export dialog")
        assert app.screen.query_one("#path", Input).value == str(
            downloads / f"triagerun-Demo_triage_bot-{run.test_run_id}.html")
        await pilot.press("enter")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        page = (downloads / f"triagerun-Demo_triage_bot-{run.test_run_id}.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and page.count('<details class="sr"') == 3
        assert notes.any(f"triagerun-Demo_triage_bot-{run.test_run_id}.html")


async def test_the_new_run_form_starts_repeats_and_the_run_screen_sums_them_up(runtime):
    from preclinical.store.models import TestRun
    from preclinical.tui.screens.new_run import NewRunScreen
    from tests.tui.driving import text_of

    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_new_run()
        await wait_until(pilot, lambda: isinstance(app.screen, NewRunScreen) and app.screen.query("#repeats"),
                         what="the new run form")
        form = app.screen
        form.query_one("#max-scenarios", Input).value = "2"
        form.query_one("#repeats", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NewRunScreen)
        assert text_of(form.query_one("#err-repeats")) == "Must be between 1 and 20."
        form.query_one("#repeats", Input).value = "3"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), what="the run screen")
        run = TestRun.get_by_id(app.screen.run_id)
        assert run.repeats == 3 and run.total_scenarios == 6
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        await wait_until(pilot, lambda: "worst-of-3" in text_of(app.screen.query_one("#run-meta")),
                         what="the repeats line")
        meta = text_of(app.screen.query_one("#run-meta"))
        assert "2 scenarios × 3" in meta and "pass@3 100% · worst-of-3 100% of 2 scenarios" in meta


async def test_shift_g_regrades_the_run_and_reports_the_agreement(runtime):
    from preclinical.store.models import Regrade

    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3})
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        await pilot.pause()
        await pilot.press("G")
        await wait_until(pilot, lambda: notes.any("verdicts flipped"), what="the agreement")
        regrade = Regrade.get(Regrade.test_run == run.id)
        assert regrade.status == "completed" and regrade.graded == 3
        assert notes.any("0 of 3 verdicts flipped") and notes.any("100% of")

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

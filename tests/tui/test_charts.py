"""The run's charts screen (m): the figures it draws are the run's own statistics."""

from __future__ import annotations

import asyncio

from preclinical.library import DEMO_AGENT_ID
from preclinical.store.comparison import run_statistics
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.charts import ChartsScreen
from preclinical.tui.screens.run import RunScreen
from tests.tui.conftest import API_URL
from tests.tui.driving import text_of, wait_until


async def test_m_shows_rates_matrix_axes_repeats_and_agreement(runtime):
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(130, 60)) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 4, "repeats": 2})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        regrade = runtime.regrader.start(run.id, {"engine": "rules", "label": "retest"})
        await runtime.regrader.wait(regrade.id)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, ChartsScreen), what="the charts screen")
        # Drawn in a thread: the screen says so until the figures arrive.
        await wait_until(pilot, lambda: "Rates with their 95% intervals" in text_of(app.screen.query_one("#charts")),
                         what="the charts drawn")
        assert not app.screen.computing("charts")
        shown = text_of(app.screen.query_one("#charts"))
        stats = run_statistics(run.id)
        assert f"{stats['pass_rate']:.1f}%" in shown
        assert f"(95% CI {stats['pass_rate_ci'][0]:.1f}–{stats['pass_rate_ci'][1]:.1f})" in shown
        assert "Triage confusion matrix" in shown and "8 (100%)" in shown  # 4 scenarios × 2 repeats, all Home care
        assert "Criterion outcomes per axis" in shown and "accuracy" in shown
        assert "Repeats (2 per scenario)" in shown and "worst-of-2" in shown
        assert "vs regrade retest" in shown

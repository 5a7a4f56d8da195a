"""A run records its spec when it starts; the API, the CLI and the Run screen show the run's spec, not today's settings."""

from __future__ import annotations

import asyncio

from preclinical.library import DEMO_AGENT_ID
from preclinical.store.models import TestRun as RunRow
from preclinical.tui.screens.run import RunScreen
from tests.tui.driving import text_of, wait_until


async def test_the_run_screen_shows_the_engine_the_run_was_played_with(app, runtime):
    async with app.run_test(size=(140, 40)) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 1, "max_turns": 40})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        spec = RunRow.get_by_id(run.id).spec
        assert spec["engine"] == "offline" and spec["max_turns"] == 15  # 40 asked, clamped to 15 when it started
        assert spec["patient"]["kind"] == "scripted" and spec["judge"]["kind"] == "rules"
        assert len(spec["reader_version"]) == 12 and len(spec["judge"]["version"]) == 12

        # A run played earlier by the model engine keeps saying so, though this app is offline now.
        played = {**spec, "engine": "model", "max_turns": 9,
                  "patient": {"kind": "standardized", "model": "m-patient", "temperature": 0.2, "prompts": "abc"},
                  "judge": {"kind": "model", "model": "m-judge", "temperature": 0.1, "prompts": "def"}}
        RunRow.update(spec=played).where(RunRow.id == run.id).execute()
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        meta = text_of(app.screen.query_one("#run-meta"))
        assert "model engine · patient m-patient @0.2 · judge m-judge @0.1" in meta
        assert "9 turns" in meta and "offline engine" not in meta

"""Clinician review in the interface: five scenario runs reviewed, the judge's agreement shown, reviews exported
and imported as files."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import Input, Select

from preclinical.library import DEMO_AGENT_ID
from preclinical.store.models import Grading, Review, ScenarioRun
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.dialogs import PathDialog
from preclinical.tui.screens.review import ReviewScreen
from preclinical.tui.screens.run import RunScreen
from tests.tui.conftest import API_URL
from tests.tui.driving import Notifications, text_of, wait_until


async def test_review_five_scenario_runs_and_see_the_judges_agreement(runtime, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(130, 44), message_hook=notes) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 5})
        await asyncio.wait_for(runtime.executor.wait(run.id), 30)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.shown,
                         what="the review screen")
        screen = app.screen
        # The agreement is computed in a thread (it grows with the run): wait for it, never for a time.
        await wait_until(pilot, lambda: "No reviews yet" in text_of(screen.query_one("#review-agreement")),
                         what="the agreement line")
        # The judge's decisions are not shown while reviewing: every criterion starts unreviewed.
        assert all(s.value is Select.NULL for s in screen.query("#review-criteria Select"))

        await pilot.press("ctrl+s")  # nothing marked yet
        assert "Mark at least one criterion." in text_of(screen.query_one("#review-error"))

        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id).order_by(ScenarioRun.position))
        screen.query_one("#reviewer", Input).value = "Dr Ada"
        for n, row in enumerate(rows):
            await wait_until(pilot, lambda row=row: screen.shown == row.id, what=f"scenario run {n + 1}")
            judge = {r["criterion_index"]: r["decision"] for r in Grading.get(Grading.scenario_run == row.id)
                     .criteria_results}
            for i, select in enumerate(screen.query("#review-criteria Select").results(Select)):
                # Agree with the judge except on the first criterion of the second scenario run.
                decision = judge.get(i) if judge.get(i) in ("MET", "PARTIALLY MET", "NOT MET") else "MET"
                if n == 1 and i == 0:
                    decision = "NOT MET" if decision == "MET" else "MET"
                select.value = decision
            screen.query_one("#disposition", Select).value = "Home care"
            screen.query_one("#note", Input).value = f"note {n + 1}"
            await pilot.press("ctrl+s")
            await pilot.pause()
        await wait_until(pilot, lambda: Review.select().count() == 5, what="five saved reviews")
        await wait_until(pilot, lambda: "5 reviews of 5" in text_of(screen.query_one("#review-agreement"))
                         and not screen.computing("agreement"), what="the agreement after five reviews")
        shown = text_of(screen.query_one("#review-agreement"))
        assert "Judge vs clinicians: 5 reviews of 5 scenario runs by Dr Ada" in shown
        assert "Cohen's κ" in shown and "Disagreements: 1" in shown
        assert notes.any("That was the last scenario run.")
        assert Review.get(Review.scenario_run == rows[2].id).note == "note 3"

        # Export the reviews, rename the reviewer (a colleague's file), import it back.
        await pilot.press("ctrl+e")
        await wait_until(pilot, lambda: isinstance(app.screen, PathDialog), what="the export dialog")
        await pilot.press("enter")
        await pilot.pause()
        path = tmp_path / f"preclinical-reviews-{run.test_run_id}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["format"] == "preclinical-reviews" and len(document["reviews"]) == 5
        for review in document["reviews"]:
            review["reviewer"] = "Dr Lin"
        (tmp_path / "lin.json").write_text(json.dumps(document), encoding="utf-8")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(app.screen, PathDialog), what="the import dialog")
        app.screen.query_one("#path", Input).value = str(tmp_path / "lin.json")
        await pilot.press("enter")
        await wait_until(pilot, lambda: notes.any("Imported 5 reviews"), what="the import")
        await wait_until(pilot, lambda: "10 reviews of 5 scenario runs by Dr Ada, Dr Lin" in text_of(
            screen.query_one("#review-agreement")), what="the agreement after the import")

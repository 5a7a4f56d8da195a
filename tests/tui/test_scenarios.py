"""The scenario library in the terminal: search and filters, the editor (rubric included), drafts, generation."""

from __future__ import annotations

from textual.widgets import Checkbox, DataTable, Input, Select, TextArea

from preclinical.library import load_library, scenario_id_for
from preclinical.runtime import open_runtime
from preclinical.store import scenarios as scenario_store
from preclinical.store.models import Scenario
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.dialogs import ConfirmDialog
from preclinical.tui.screens.generate import GenerateScreen
from preclinical.tui.screens.scenario_detail import ScenarioDetailScreen
from preclinical.tui.screens.scenario_editor import CriterionEditor, ScenarioEditorScreen
from preclinical.tui.screens.scenarios import ScenariosScreen
from tests.api.test_generation import PROTOCOL, draft
from tests.support import FixedClock, isolated_settings, seeded_rng
from tests.tui.conftest import API_URL
from tests.tui.driving import Notifications, text_of, wait_until

JAW = scenario_id_for("EM-09")


def shown_ids(screen: ScenariosScreen) -> list[str]:
    return list(screen.ids)


async def test_search_and_filters_narrow_the_library(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenariosScreen) and app.screen.ids)
        screen = app.screen
        n = len(load_library())
        assert len(screen.ids) == n
        assert text_of(screen.query_one("#scenario-count")).startswith(f"{n} approved · 0 drafts · {n} shown")
        await pilot.press("slash", *"jaw")
        await wait_until(pilot, lambda: len(screen.ids) < n)
        assert JAW in screen.ids
        assert "matching “jaw”" in text_of(screen.query_one("#scenario-count"))
        screen.query_one("#q", Input).value = ""
        await wait_until(pilot, lambda: len(screen.ids) == n)
        screen.query_one("#gold", Select).value = "Home care"
        home = sum(1 for c in load_library() if c["content"]["gold_standard"] == "Home care")
        await wait_until(pilot, lambda: len(screen.ids) == home)
        assert all(Scenario.get_by_id(i).content["gold_standard"] == "Home care" for i in screen.ids)
        screen.query_one("#tag", Select).value = "child"
        await pilot.pause()
        assert 0 < len(screen.ids) < 20 and all("child" in Scenario.get_by_id(i).tags for i in screen.ids)
        screen.query_one("#q", Input).value = "no such thing at all"
        await wait_until(pilot, lambda: screen.ids == [])
        assert "no scenario matches" in text_of(screen.query_one("#scenario-count"))


async def test_edit_a_scenario_rubric_and_save(app):
    before = scenario_store.get_scenario(JAW)
    rubric_before = list(before.rubric_criteria)
    notes = Notifications()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await pilot.press("s", "slash", *"jaw ache", "enter")
        await wait_until(pilot, lambda: app.screen.ids == [JAW])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioDetailScreen) and app.screen.data)
        titles = [text_of(label) for label in app.screen.query(".panel-title")]
        assert f"Rubric ({len(rubric_before)} criteria)" in titles
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioEditorScreen)
                         and app.screen.query(CriterionEditor))
        editor = app.screen
        rows = list(editor.query(CriterionEditor))
        assert len(rows) == len(rubric_before)
        assert rows[0].query_one(".criterion-text", Input).value == rubric_before[0]["criterion"]

        # A mistake is shown where it is, and nothing is saved.
        rows[1].query_one(".criterion-points", Input).value = "lots"
        editor.query_one("#name", Input).value = " "
        await pilot.press("ctrl+s")
        assert text_of(rows[1].query_one(".criterion-error")) == "Points must be a number."
        assert text_of(editor.query_one("#err-name")) == "A name is required."
        assert "2 fields to correct" in text_of(editor.query_one("#form-error"))
        assert scenario_store.get_scenario(JAW).rubric_criteria == rubric_before

        # Correct it, change points, tags and critical, and add a criterion.
        editor.query_one("#name", Input).value = before.name
        rows[1].query_one(".criterion-points", Input).value = "7"
        rows[1].query_one(".criterion-tags", Input).value = "axis:safety, level:triage"
        rows[1].query_one(".criterion-critical", Checkbox).value = True
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: len(editor.query(CriterionEditor)) == len(rubric_before) + 1)
        await pilot.press("N", "o")  # the new criterion's text has the focus
        new_row = list(editor.query(CriterionEditor))[-1]
        new_row.query_one(".criterion-text", Input).value += " driving: tells the patient not to drive to hospital."
        new_row.query_one(".criterion-points", Input).value = "4"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioDetailScreen))

        saved = scenario_store.get_scenario(JAW).rubric_criteria
        assert len(saved) == len(rubric_before) + 1
        assert saved[1]["points"] == 7 and saved[1]["tags"] == ["axis:safety", "level:triage"] and saved[1]["critical"]
        assert saved[1].get("check") == rubric_before[1].get("check")  # the machine check is kept
        assert saved[-1] == {"criterion": "No driving: tells the patient not to drive to hospital.", "points": 4,
                             "tags": [], "critical": False}
        assert saved[0] == rubric_before[0]
        assert notes.any("Saved EM-09")
        await wait_until(pilot, lambda: f"Rubric ({len(saved)} criteria)" in
                         [text_of(label) for label in app.screen.query(".panel-title")])


async def test_editor_covers_every_field_and_creates_a_scenario(app):
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_scenario_editor(None)
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioEditorScreen))
        editor = app.screen
        await pilot.pause()
        editor.query_one("#name", Input).value = "New: sudden severe headache"
        editor.query_one("#category", Input).value = "emergency"
        editor.query_one("#priority", Input).value = "8"
        editor.query_one("#tags", Input).value = "triage, neurological"
        editor.query_one("#approved", Checkbox).value = False
        editor.query_one("#gold_standard", Select).value = "Emergency"
        editor.query_one("#demographics", Input).value = '{"age": 44, "gender": "female"}'
        editor.query_one("#initial_message", TextArea).text = "Worst headache of my life, it came on suddenly."
        editor.query_one("#chief_complaint", TextArea).text = "Thunderclap headache"
        editor.query_one("#clinical_facts", TextArea).text = "Pertinent positives\n onset: sudden, 20 minutes ago"
        editor.query_one("#sop_instructions", TextArea).text = "Thunderclap headache goes to emergency care."
        await pilot.press("ctrl+n")
        await pilot.press("E", "D")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioDetailScreen))
        created = Scenario.get(Scenario.name == "New: sudden severe headache")
        assert (created.category, created.priority, created.tags, created.approved) == (
            "emergency", 8, ["triage", "neurological"], False)
        assert created.content == {
            "initial_message": "Worst headache of my life, it came on suddenly.",
            "chief_complaint": "Thunderclap headache",
            "clinical_facts": "Pertinent positives\n onset: sudden, 20 minutes ago",
            "sop_instructions": "Thunderclap headache goes to emergency care.",
            "gold_standard": "Emergency", "demographics": {"age": 44, "gender": "female"},
        }
        assert created.rubric_criteria == [{"criterion": "ED", "points": 5,
                                            "tags": [], "critical": False}]


async def test_drafts_approve_duplicate_and_delete(app, runtime):
    draft_row = scenario_store.create_scenario(runtime.services, {
        "name": "Draft: wheeze", "approved": False, "content": {"initial_message": "I'm wheezing."}})
    notes = Notifications()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenariosScreen) and app.screen.ids)
        screen = app.screen
        assert "1 drafts" in text_of(screen.query_one("#scenario-count"))
        screen.query_one("#state", Select).value = "Drafts"
        await wait_until(pilot, lambda: screen.ids == [draft_row.scenario_id])
        screen.query_one("#scenario-table", DataTable).focus()
        await pilot.press("p")
        await pilot.pause()
        assert scenario_store.get_scenario(draft_row.scenario_id).approved
        assert notes.any("Approved, not runnable yet")  # it has no clinical facts yet
        assert screen.ids == []

        # Duplicate a library scenario: the copy is a draft, opened in the editor.
        screen.query_one("#state", Select).value = "Approved"
        await wait_until(pilot, lambda: len(screen.ids) > 1)
        screen.query_one("#scenario-table", DataTable).focus()
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioEditorScreen))
        copy = Scenario.get(Scenario.name.endswith("(copy)"))
        assert not copy.approved and copy.rubric_criteria == Scenario.get_by_id(screen.ids[0]).rubric_criteria
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        # Delete after confirming: it leaves the library (the Inactive filter still lists it).
        first = screen.ids[0]
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: first not in screen.ids)
        assert not Scenario.get_by_id(first).is_active
        screen.query_one("#state", Select).value = "Inactive"
        await wait_until(pilot, lambda: first in screen.ids)


async def test_generate_says_a_model_is_needed_when_none_is_configured(app):
    notes = Notifications()
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        await pilot.press("g")
        await wait_until(pilot, lambda: isinstance(app.screen, GenerateScreen))
        screen = app.screen
        assert screen.query_one("#no-model").display
        screen.query_one("#text", TextArea).text = PROTOCOL
        await pilot.press("ctrl+s")
        assert notes.any("No language model is configured")
        assert not screen.workers


async def test_generate_from_text_and_from_a_file_lists_drafts_to_approve(tmp_path, fake_openai):
    fake_openai.responder = lambda body: draft()
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        notes = Notifications()
        app = PreclinicalApp(rt, api_url=API_URL)
        async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
            await pilot.press("g")
            await wait_until(pilot, lambda: isinstance(app.screen, GenerateScreen))
            screen = app.screen
            assert not screen.query_one("#no-model").display
            screen.query_one("#text", TextArea).text = PROTOCOL
            screen.query_one("#tags", Input).value = "cardiac, generated"
            await pilot.press("ctrl+s")
            await screen.workers.wait_for_complete()
            await wait_until(pilot, lambda: screen.result_ids, what="a generated draft")
            generated = Scenario.get_by_id(screen.result_ids[0])
            assert not generated.approved and generated.tags == ["cardiac", "generated"]
            assert notes.any("Generated 1 draft scenario")
            drafts = screen.query_one("#drafts", DataTable)
            assert drafts.row_count == 1 and "draft" in str(drafts.get_row_at(0)[4])

            document = tmp_path / "protocol.md"
            document.write_text("# Chest pain\n\n" + PROTOCOL, encoding="utf-8")
            screen.query_one("#text", TextArea).text = ""
            screen.query_one("#path", Input).value = str(document)
            await pilot.press("ctrl+s")
            await screen.workers.wait_for_complete()
            await wait_until(pilot, lambda: len(screen.result_ids) == 2, what="a second draft")

            drafts.focus()
            await pilot.press("P")
            await pilot.pause()
            assert all(Scenario.get_by_id(i).approved for i in screen.result_ids)


async def test_a_failed_generation_is_a_notification_and_the_form_stays(tmp_path, fake_openai):
    fake_openai.inject("401", times=-1)  # not retried, so it fails at once
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        notes = Notifications()
        app = PreclinicalApp(rt, api_url=API_URL)
        async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
            await pilot.press("g")
            await wait_until(pilot, lambda: isinstance(app.screen, GenerateScreen))
            screen = app.screen
            screen.query_one("#text", TextArea).text = PROTOCOL
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: notes.any("Scenario generation failed"))
            assert isinstance(app.screen, GenerateScreen)
            assert screen.query_one("#text", TextArea).text == PROTOCOL
            assert not screen.query_one("#generate-button").disabled

            screen.query_one("#text", TextArea).text = ""
            screen.query_one("#path", Input).value = str(tmp_path / "missing.pdf")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: notes.any("no such file"))

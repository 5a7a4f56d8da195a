"""The main flows, driven like a user: create an agent, start a run, watch it, read a scenario run; cancel; export."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from textual.widgets import DataTable, Input, Select, SelectionList

from preclinical.domain.csv_export import HEADERS
from preclinical.domain.run import all_criteria
from preclinical.library import DEMO_AGENT_ID, load_library
from preclinical.store import agents as agent_store
from preclinical.store.models import Agent, ScenarioRun
from preclinical.store.models import TestRun as RunRow
from preclinical.store.runs import scenario_run_detail
from preclinical.store.serialize import scenario_run_json
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.agent_form import AgentFormScreen
from preclinical.tui.screens.agents import AgentsScreen
from preclinical.tui.screens.dashboard import DashboardScreen
from preclinical.tui.screens.dialogs import ConfirmDialog, PathDialog
from preclinical.tui.screens.new_run import NewRunScreen
from preclinical.tui.screens.run import RunScreen
from preclinical.tui.screens.scenario_run import ScenarioRunScreen
from preclinical.tui.widgets.live_table import LiveTable
from preclinical.tui.widgets.transcript import TurnView
from tests.tui.conftest import API_URL
from tests.tui.driving import Notifications, text_of, wait_until


async def finish(runtime, run_id: str) -> None:
    await asyncio.wait_for(runtime.executor.wait(run_id), 30)


def results_shown(screen: RunScreen) -> list[str]:
    table = screen.query_one("#scenario-table", LiveTable)
    column = screen.columns.index("result")
    return [str(table.get_row(key)[column]) for key in table.keys]


async def test_create_agent_start_a_run_watch_it_finish_and_read_a_scenario_run(runtime):
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        # Agents → New agent: a demo bot in its hasty style.
        await pilot.press("a")
        assert isinstance(app.screen, AgentsScreen)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, AgentFormScreen)
        await pilot.press(*"Triage bot")  # the name field has the focus
        form.query_one("#provider", Select).value = "demo"
        await pilot.pause()
        form.query_one("#cfg-style", Select).value = "hasty"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, AgentsScreen), what="the agents screen")
        agent = Agent.get(Agent.name == "Triage bot")
        assert agent.provider == "demo" and agent.config == {"style": "hasty"}
        assert notes.any("Saved agent Triage bot")
        agents = app.screen
        assert agents.agent_id == agent.id
        assert text_of(agents.query_one("#agent-name")) == "Triage bot"

        # New run for this agent: three chest scenarios, six turns.
        await pilot.press("r")
        form = app.screen
        assert isinstance(form, NewRunScreen)
        assert form.query_one("#agent", Select).value == agent.id
        await pilot.press(*"chest")
        listing = form.query_one("#scenario-list", SelectionList)
        await wait_until(pilot, lambda: listing.option_count < len(load_library()), what="the search applied")
        assert listing.option_count >= 3
        await pilot.click("#all")
        listing.focus()
        await pilot.press("space", "down", "space", "down", "space")
        assert f"3 selected scenarios will run · {len(load_library())} in all" in text_of(form.query_one("#selection-count"))
        chosen = list(listing.selected)
        form.query_one("#max-turns", Input).value = "6"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen), what="the run screen")
        screen = app.screen
        assert screen.run.total_scenarios == 3 and screen.run.max_turns == 6

        # Watch it finish: the table, the bar's summary and the store agree.
        await finish(runtime, screen.run_id)
        await wait_until(pilot, lambda: "3/3 done" in text_of(screen.query_one("#run-outcome")), what="3/3 done")
        rows = list(ScenarioRun.select().where(ScenarioRun.test_run == screen.run_id).order_by(ScenarioRun.position))
        assert [r.scenario_id for r in rows] == chosen
        expected = ["Pass" if r.status == "passed" else "Fail" for r in rows]
        assert results_shown(screen) == expected
        table = screen.query_one("#scenario-table", LiveTable)
        assert [str(table.get_row(r.id)[screen.columns.index("turn")]) for r in rows] == ["6/6"] * 3
        passed = expected.count("Pass")
        assert f"{passed} passed" in text_of(screen.query_one("#run-outcome"))

        # Open the first scenario run: the conversation, turn by turn, and its grading.
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ScenarioRunScreen), what="the scenario run")
        detail = app.screen
        data = scenario_run_json(*scenario_run_detail(rows[0]))
        turns = list(detail.query(TurnView))
        assert [t.turn for t in turns] == [1, 2, 3, 4, 5, 6]
        assert "Turn 1 of 6" in text_of(turns[0].query_one(".turn-heading"))
        first_message = text_of(turns[0].query(".message").first())
        assert data["transcript"][0]["content"] in first_message
        criteria = detail.query_one("#criteria", DataTable)
        every = all_criteria(data)  # graded and ungraded, in rubric order: the screen shows them all
        assert criteria.row_count == len(every) == len(data["criteria_results"]) + len(data["ungraded_criteria"])
        assert str(criteria.get_row_at(0)[1]) == every[0]["decision"]
        triage = text_of(detail.query_one("#triage"))
        assert "Gold" in triage and "Rule:" in triage
        # Selecting a criterion shows its rationale; the turns its evidence cites are highlighted.
        assert app.focused is criteria
        cited = {t.turn for t in detail.query(TurnView) if t.has_class("-cited")}
        assert cited, "the triage criterion cites the final turn"
        await pilot.press("down")
        second = every[1]
        assert second["rationale"] in text_of(detail.query_one("#criterion-detail"))

        # Next scenario run, then back to the run.
        await pilot.press("right_square_bracket")
        assert detail.sr_id == rows[1].id
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)


async def test_cancel_a_live_run(runtime, fake_openai):
    fake_openai.latency_s = 0.02  # a target that takes its time, so the run is still going when canceled
    target = agent_store.create_agent(runtime.services, {
        "provider": "openai", "name": "Slow target", "config": {"base_url": fake_openai.url, "api_key": "k"}})
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        run = app.start_run({"agent_id": target.id, "concurrency_limit": 2, "name": "Long run"})
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run is not None)
        screen = app.screen
        await wait_until(pilot, lambda: f"0/{len(load_library())} done" not in text_of(screen.query_one("#run-outcome")),
                         what="a first result")
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.run.status == "canceled", what="the cancel")
        await wait_until(pilot, lambda: text_of(screen.query_one("#run-outcome")).startswith("Canceled"))
        assert RunRow.get_by_id(run.id).status == "canceled"
        statuses = [r.status for r in ScenarioRun.select().where(ScenarioRun.test_run == run.id)]
        assert "canceled" in statuses and not {"pending", "running", "grading"} & set(statuses)
        await wait_until(pilot, lambda: results_shown(screen).count("Canceled") == statuses.count("canceled"))
        assert notes.any("Run canceled")
        # Only the canceled ones under the Canceled filter; cancel is no longer offered.
        screen.show_filter("Canceled")
        await pilot.pause()
        assert set(results_shown(screen)) == {"Canceled"}
        assert screen.check_action("cancel_run", ()) is False  # a finished run offers no Cancel at all
        assert "cancel_run" not in [active.binding.action for active in app.active_bindings.values()]


async def test_delete_a_run_after_confirming(runtime):
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2})
        await finish(runtime, run.id)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")
        assert isinstance(app.screen, RunScreen) and RunRow.get_by_id(run.id).deleted_at is None
        await pilot.press("delete", "y")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back on the dashboard")
        assert RunRow.get_by_id(run.id).deleted_at is not None
        assert app.screen.query_one("#recent-runs", DataTable).row_count == 0


async def test_export_csv_and_json_to_files(runtime, tmp_path, downloads):
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        run = app.start_run({"agent_id": DEMO_AGENT_ID, "max_scenarios": 3})
        await finish(runtime, run.id)
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        screen = app.screen

        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, PathDialog)
        default = dialog.query_one("#path", Input).value
        assert default == str(downloads / f"triagerun-Demo_triage_bot-{run.test_run_id}.csv")  # not the cwd
        dialog.query_one("#path", Input).value = str(tmp_path / "exports" / "run.csv")
        await pilot.press("enter")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        lines = (tmp_path / "exports" / "run.csv").read_text(encoding="utf-8").split("\n")
        assert lines[0].startswith(",".join(HEADERS))
        assert len(lines) == 4
        assert notes.any(str(tmp_path / "exports" / "run.csv"))

        await pilot.press("j", "enter")  # the default name, in the Downloads folder
        await screen.workers.wait_for_complete()
        await pilot.pause()
        exported = json.loads(Path(default.replace(".csv", ".json")).read_text(encoding="utf-8"))
        assert exported["run"]["verdict"]["headline"] in ("Passed", "Failed")
        assert exported["run"]["id"] == run.id and len(exported["scenario_runs"]) == 3

        # An unwritable path is a notification, not a crash.
        await pilot.press("x")
        app.screen.query_one("#path", Input).value = str(tmp_path / "run.csv" / "inside-a-file.csv")
        (tmp_path / "run.csv").write_text("a file, not a directory")
        await pilot.press("enter")
        await screen.workers.wait_for_complete()
        await pilot.pause()
        assert notes.any("Could not write")
        assert isinstance(app.screen, RunScreen)


async def test_rerun_failed_scenarios_starts_a_run_of_exactly_those(runtime):
    hasty = agent_store.create_agent(runtime.services, {"provider": "demo", "name": "Hasty",
                                                        "config": {"style": "hasty"}})
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.start_run({"agent_id": hasty.id, "max_scenarios": 30})
        await finish(runtime, run.id)
        failed = [r.scenario_id for r in ScenarioRun.select().where(
            ScenarioRun.test_run == run.id, ScenarioRun.status.in_(("failed", "error"))).order_by(ScenarioRun.position)]
        assert failed, "the hasty bot fails some of the first thirty"
        app.show_run(run.id)
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.run_id != run.id)
        rerun = app.screen.run
        assert rerun.agent_id == hasty.id and rerun.name.startswith("Rerun of failed")
        assert [r.scenario_id for r in ScenarioRun.select().where(ScenarioRun.test_run == rerun.id)
                .order_by(ScenarioRun.position)] == failed


async def test_agent_form_validates_masks_secrets_and_keeps_them_on_edit(runtime):
    notes = Notifications()
    app = PreclinicalApp(runtime, api_url=API_URL)
    async with app.run_test(size=(120, 40), message_hook=notes) as pilot:
        app.show_agent_form(None)
        await pilot.pause()
        form = app.screen
        form.query_one("#name", Input).value = "Vapi line"
        form.query_one("#provider", Select).value = "vapi"
        await pilot.pause()
        form.query_one("#cfg-base_url", Input).value = "api.vapi.ai"
        await pilot.press("ctrl+s")
        assert text_of(form.query_one("#err-api_key")) == "API key is required."
        assert text_of(form.query_one("#err-assistant_id")) == "Assistant ID is required."
        assert "URL" in text_of(form.query_one("#err-base_url"))
        assert not Agent.select().where(Agent.name == "Vapi line").exists()

        secret = form.query_one("#cfg-api_key", Input)
        assert secret.password
        secret.value = "sk-live-0123456789"
        form.query_one("#cfg-assistant_id", Input).value = "asst_42"
        form.query_one("#cfg-base_url", Input).value = "https://api.vapi.ai"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, AgentsScreen))
        agent = Agent.get(Agent.name == "Vapi line")
        assert agent.config["api_key"] == "sk-live-0123456789"
        config_text = text_of(app.screen.query_one("#agent-config"))
        assert "sk-live-0123456789" not in config_text and "sk-l••" in config_text

        # Edit: the secret comes back masked; renaming keeps it.
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, AgentFormScreen)
        masked = form.query_one("#cfg-api_key", Input)
        assert masked.value.startswith("sk-l") and "•" in masked.value and masked.password
        await pilot.press("f2")
        assert not masked.password
        form.query_one("#name", Input).value = "Vapi line (prod)"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, AgentsScreen))
        agent = Agent.get_by_id(agent.id)
        assert agent.name == "Vapi line (prod)" and agent.config["api_key"] == "sk-live-0123456789"

        # Delete, after confirming.
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: Agent.get_by_id(agent.id).deleted_at is not None)
        await pilot.pause()
        listing = app.screen.query_one("#agent-list", DataTable)
        assert agent.id not in [row.value for row in listing.rows]
        assert notes.any("Deleted agent Vapi line (prod)")


async def test_scenario_run_screen_grows_live_turn_by_turn(tmp_path, fake_openai):
    from preclinical.runtime import open_runtime
    from tests.fakes.openai_server import default_reply
    from tests.support import FixedClock, isolated_settings, seeded_rng

    # The target answers a turn only when the test lets it, after the screen has shown the turns before: the
    # test waits on what the screen shows, never on how fast the machine is.
    replies = asyncio.Semaphore(0)

    async def gated(body):
        if body.get("model") == "fake-target":
            await replies.acquire()
        return default_reply(body)

    fake_openai.responder = gated
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        agent = agent_store.create_agent(rt.services, {
            "provider": "openai", "name": "Fake target",
            "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "fake-target"}})
        app = PreclinicalApp(rt, api_url=API_URL)
        async with app.run_test(size=(120, 40)) as pilot:
            run = app.start_run({"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
            sr = ScenarioRun.get(ScenarioRun.test_run == run.id)
            app.show_scenario_run(sr.id)
            await wait_until(pilot, lambda: isinstance(app.screen, ScenarioRunScreen))
            screen = app.screen

            def turns_shown() -> int:
                return len(screen.query(TurnView))

            for turn in (1, 2):
                replies.release()  # the target may answer this turn, and only this one
                await wait_until(pilot, lambda turn=turn: turns_shown() == turn, what=f"turn {turn} on screen")
                await wait_until(pilot, lambda turn=turn: text_of(screen.query_one("#sr-live")).startswith(
                    "● Live · Turn"), what=f"the live line during turn {turn}")
                assert ScenarioRun.get_by_id(sr.id).status not in ("passed", "failed"), "the run is still going"
            for _ in range(20):
                replies.release()  # the rest of the conversation at full speed
            await finish(rt, run.id)
            await wait_until(pilot, lambda: screen.query_one("#criteria", DataTable).row_count > 0, what="grading")
            played = max(e["turn"] for e in ScenarioRun.get_by_id(sr.id).transcript)
            assert played > 2
            assert [t.turn for t in screen.query(TurnView)] == list(range(1, played + 1))
            assert not screen.query_one("#sr-live").display

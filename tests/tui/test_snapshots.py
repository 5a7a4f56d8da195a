"""Every screen pinned as an SVG snapshot, at 120x40 and (for the main ones) 80x24, over deterministic data.

The data is the bundled library plus five runs completed by the offline engine against the demo bots,
with a fixed clock and seeded ids (see conftest). Update after an intended change with
`pytest tests/tui/test_snapshots.py --snapshot-update` and review the report.
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from tests.tui.driving import wait_until

WIDE, SMALL = (120, 40), (80, 24)
BOTH = pytest.mark.parametrize("size", [WIDE, SMALL], ids=["120x40", "80x24"])


async def ready(pilot, screen_name: str) -> None:
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == screen_name, what=screen_name)
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shoot(snap_compare, snapshot_app, size, steps=None) -> None:
    app = snapshot_app()

    async def run_before(pilot) -> None:
        await ready(pilot, "DashboardScreen")
        if steps is not None:
            await steps(pilot, snapshot_app.ids)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@BOTH
def test_dashboard(snap_compare, snapshot_app, size):
    shoot(snap_compare, snapshot_app, size)


@BOTH
def test_agents_with_a_masked_secret(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        await pilot.app.show_agents(ids["nurse"])
        await ready(pilot, "AgentsScreen")

    shoot(snap_compare, snapshot_app, size, steps)


def test_new_agent_form(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        pilot.app.show_agent_form(None)
        await ready(pilot, "AgentFormScreen")
        await pilot.press("ctrl+s")  # nothing filled in: the messages show in place
        await pilot.pause()

    shoot(snap_compare, snapshot_app, WIDE, steps)


@BOTH
def test_new_run(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        pilot.app.show_new_run()
        await ready(pilot, "NewRunScreen")
        pilot.app.screen.query_one("#gold", Select).value = "Emergency"
        await pilot.pause()

    shoot(snap_compare, snapshot_app, size, steps)


@BOTH
def test_run(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        pilot.app.show_run(ids["careful-3"])
        await ready(pilot, "RunScreen")

    shoot(snap_compare, snapshot_app, size, steps)


@BOTH
def test_scenario_run(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        pilot.app.show_scenario_run(ids["failed_scenario_run"])
        await ready(pilot, "ScenarioRunScreen")

    shoot(snap_compare, snapshot_app, size, steps)


@BOTH
def test_scenario_library(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        await pilot.press("s")
        await ready(pilot, "ScenariosScreen")

    shoot(snap_compare, snapshot_app, size, steps)


def test_scenario_detail(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        pilot.app.show_scenario(ids["scenario"])
        await ready(pilot, "ScenarioDetailScreen")

    shoot(snap_compare, snapshot_app, WIDE, steps)


@BOTH
def test_scenario_editor(snap_compare, snapshot_app, size):
    async def steps(pilot, ids):
        pilot.app.show_scenario_editor(ids["scenario"])
        await ready(pilot, "ScenarioEditorScreen")

    shoot(snap_compare, snapshot_app, size, steps)


def test_scenario_editor_rubric_with_messages(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        pilot.app.show_scenario_editor(ids["draft"])
        await ready(pilot, "ScenarioEditorScreen")
        await pilot.press("ctrl+n")  # an empty criterion: saving says what is missing
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        pilot.app.screen.query_one("#rubric").scroll_visible(animate=False)
        await pilot.pause()

    shoot(snap_compare, snapshot_app, WIDE, steps)


def test_generate_without_a_model(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        await pilot.press("g")
        await ready(pilot, "GenerateScreen")

    shoot(snap_compare, snapshot_app, WIDE, steps)


def test_help(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        pilot.app.show_run(ids["careful-3"])
        await ready(pilot, "RunScreen")
        await pilot.press("question_mark")
        await ready(pilot, "HelpScreen")

    shoot(snap_compare, snapshot_app, WIDE, steps)


def test_confirm_cancel_dialog_on_a_light_theme(snap_compare, snapshot_app):
    async def steps(pilot, ids):
        pilot.app.show_run(ids["careful-1"])
        await ready(pilot, "RunScreen")
        await pilot.press("ctrl+t", "delete")
        await ready(pilot, "ConfirmDialog")

    shoot(snap_compare, snapshot_app, WIDE, steps)

"""Scenario actions shared by the library, the detail view and the generate screen: approve, duplicate, delete."""

from __future__ import annotations

from collections.abc import Callable

from preclinical.errors import PreclinicalError
from preclinical.store import scenarios as scenario_store
from preclinical.store.serialize import scenario_json
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.dialogs import ConfirmDialog


def approve(screen: BaseScreen, scenario_id: str) -> bool:
    """Approve a draft so runs include it; warns when it is not runnable yet."""
    try:
        scenario = scenario_store.update_scenario(screen.runtime.services, scenario_id, {"approved": True,
                                                                                        "is_active": True})
    except PreclinicalError as exc:
        screen.report(exc, "Approving the scenario")
        return False
    problems = scenario_json(scenario)["problems"]
    if problems:
        screen.notify(f"Approved {scenario.name}, but runs will skip it until it is fixed: {'; '.join(problems)}.",
                      title="Approved, not runnable yet", severity="warning", timeout=10)
    else:
        screen.notify(f"Approved {scenario.name}; runs include it now.", title="Scenario approved")
    return True


def duplicate(screen: BaseScreen, scenario_id: str) -> str | None:
    """Copy a scenario as a draft (so it does not run until approved); returns the copy's id."""
    try:
        original = scenario_json(scenario_store.get_scenario(scenario_id))
        copy = scenario_store.create_scenario(screen.runtime.services, {
            "name": f"{original['name']} (copy)", "category": original["category"],
            "scenario_type": original["scenario_type"], "content": original["content"],
            "rubric_criteria": original["rubric_criteria"], "priority": original["priority"],
            "tags": original["tags"], "is_active": True, "approved": False,
        })
    except PreclinicalError as exc:
        screen.report(exc, "Duplicating the scenario")
        return None
    screen.notify(f"Created {copy.name} as a draft.", title="Scenario duplicated")
    return copy.scenario_id


def confirm_delete(screen: BaseScreen, scenario_id: str, done: Callable[[], None] | None = None) -> None:
    """Ask, then deactivate the scenario (it leaves runs and the library; the Inactive filter still shows it)."""
    try:
        name = scenario_store.get_scenario(scenario_id).name
    except PreclinicalError as exc:
        screen.report(exc, "Deleting the scenario")
        return

    def answered(yes: bool | None) -> None:
        if not yes:
            return
        try:
            scenario_store.delete_scenario(screen.runtime.services, scenario_id)
        except PreclinicalError as exc:
            screen.report(exc, "Deleting the scenario")
            return
        screen.notify(f"Deleted {name}. The Inactive filter still lists it; tick Active in the editor to restore it.",
                      title="Scenario deleted")
        if done is not None:
            done()

    screen.app.push_screen(ConfirmDialog(f"Delete scenario {name}?", "Runs stop including it. Past results stay.",
                                         confirm_label="Delete"), answered)

"""The bundled scenario library and the first-start seed (idempotent: stable ids, never overwrites edits)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from preclinical.services import Services
from preclinical.store.ids import stable_id

LIBRARY_FILES = ("triage/emergency.json", "triage/clinician.json", "triage/home_care.json")
DEMO_AGENT_ID = stable_id("agents", "demo-triage-bot")
DEMO_AGENT_NAME = "Demo triage bot"


def scenario_id_for(key: str) -> str:
    return stable_id("scenarios", key)


def load_library() -> list[dict[str, Any]]:
    """Every bundled case, in file order."""
    root = resources.files(__package__)
    cases: list[dict[str, Any]] = []
    for name in LIBRARY_FILES:
        item = root.joinpath(name)
        if item.is_file():
            cases.extend(json.loads(item.read_text(encoding="utf-8")))
    return cases


def library_fields(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": case["name"],
        "category": case.get("category"),
        "scenario_type": case.get("scenario_type", "full"),
        "content": case["content"],
        "rubric_criteria": case["rubric_criteria"],
        "priority": case.get("priority"),
        "tags": case.get("tags", []),
        "is_active": True,
        "approved": True,
        "source": "library",
        "library_key": case["key"],
    }


def seed(svc: Services) -> dict[str, int]:
    """Insert bundled scenarios and the demo agent that are not in the database yet (deleted ones stay deleted)."""
    from preclinical.store.db import database
    from preclinical.store.models import Agent, Scenario
    from preclinical.store.scenarios import insert_scenario

    cases = load_library()
    wanted = {scenario_id_for(c["key"]): c for c in cases}
    existing = {s.scenario_id for s in Scenario.select(Scenario.scenario_id).where(Scenario.scenario_id.in_(list(wanted)))}
    added = 0
    with database.atomic():
        for sid, case in wanted.items():
            if sid not in existing:
                insert_scenario(svc, library_fields(case), scenario_id=sid, publish=False)
                added += 1
        agent_added = 0
        if Agent.get_or_none(Agent.id == DEMO_AGENT_ID) is None:
            now = svc.now()
            Agent.create(
                id=DEMO_AGENT_ID, provider="demo", name=DEMO_AGENT_NAME,
                description="Built-in rules-based triage bot: asks a question or two, then recommends a level.",
                config={"style": "careful"}, is_active=True, created_at=now, updated_at=now,
            )
            agent_added = 1
    return {"scenarios": added, "agents": agent_added}

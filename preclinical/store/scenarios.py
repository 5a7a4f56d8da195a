"""Scenarios: listing with filters, validated create / update / soft delete, tags kept in an index table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from peewee import Cast, fn

from preclinical.domain.json_limits import INT_MAX, INT_MIN
from preclinical.domain.run import EventTable, LibraryEvent, RunRequest
from preclinical.domain.scenario_rules import SCENARIO_TYPES, content_problems, rubric_problems, runnable_problems
from preclinical.errors import InvalidInput, NotFound
from preclinical.services import Services
from preclinical.store.db import database, json_text, storable
from preclinical.store.ids import canonical_uuid
from preclinical.store.models import Scenario, ScenarioTag, TestSuite
from preclinical.store.serialize import scenario_json

NOT_FOUND = "Scenario not found"
EDITABLE = ("name", "category", "scenario_type", "content", "rubric_criteria", "is_active", "approved", "priority", "tags")


def list_scenarios(
    *, tag: str | None = None, category: str | None = None, q: str | None = None,
    approved: str = "true", active: str = "true",
) -> list[Scenario]:
    """Filtered scenarios in a stable order (name, then id). `approved`/`active`: 'true', 'false' or 'all'."""
    return list(_filtered(tag=tag, category=category, q=q, approved=approved, active=active))


def list_scenarios_page(*, limit: int, offset: int = 0, **filters: Any) -> tuple[list[Scenario], int]:
    """One page of `list_scenarios` and the total count of matches."""
    query = _filtered(**filters)
    total = query.count()
    return list(query.limit(limit).offset(offset)), total


def _filtered(
    *, tag: str | None = None, category: str | None = None, q: str | None = None,
    approved: str = "true", active: str = "true",
) -> Any:
    query = Scenario.select()
    for column, wanted in ((Scenario.approved, approved), (Scenario.is_active, active)):
        if wanted not in ("true", "false", "all"):
            raise InvalidInput(f"{column.name} must be true, false or all")
        if wanted != "all":
            query = query.where(column == (wanted == "true"))
    if tag:
        query = query.where(Scenario.scenario_id.in_(ScenarioTag.select(ScenarioTag.scenario).where(ScenarioTag.tag == tag)))
    if category:
        query = query.where(Scenario.category == category)
    if q:
        needle = f"%{q.strip().lower()}%"
        query = query.where(
            fn.lower(Scenario.name).contains(q.strip().lower())
            | (fn.lower(json_text(Scenario.content, "initial_message")) ** needle)
            | (fn.lower(json_text(Scenario.content, "chief_complaint")) ** needle)
            | (fn.lower(Cast(Scenario.tags, "TEXT")) ** needle)
        )
    return query.order_by(Scenario.name, Scenario.scenario_id)


def get_scenario(scenario_id: Any) -> Scenario:
    key = canonical_uuid(scenario_id)
    scenario = Scenario.get_or_none(Scenario.scenario_id == key) if key else None
    if scenario is None:
        raise NotFound(NOT_FOUND)
    return scenario


def _checked_fields(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Type-check every editable field present in `data`; raise InvalidInput naming the first bad one."""
    storable(data)
    fields: dict[str, Any] = {}
    if "name" in data or creating:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("name is required and must be a non-empty string")
        fields["name"] = name.strip()
    if "category" in data:
        if data["category"] is not None and not isinstance(data["category"], str):
            raise InvalidInput("category must be a string")
        fields["category"] = data["category"] or None
    if "scenario_type" in data:
        if data["scenario_type"] not in SCENARIO_TYPES:
            raise InvalidInput(f"scenario_type must be one of: {', '.join(SCENARIO_TYPES)}")
        fields["scenario_type"] = data["scenario_type"]
    if "content" in data:
        problems = content_problems(data["content"])
        if problems:
            raise InvalidInput(problems[0], extra={"problems": problems})
        fields["content"] = data["content"]
    if "rubric_criteria" in data:
        problems = rubric_problems(data["rubric_criteria"])
        if problems:
            raise InvalidInput(problems[0], extra={"problems": problems})
        fields["rubric_criteria"] = data["rubric_criteria"]
    for flag in ("is_active", "approved"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise InvalidInput(f"{flag} must be true or false")
            fields[flag] = data[flag]
    if "priority" in data:
        p = data["priority"]
        if p is not None and (isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p)
                              or int(p) != p or not INT_MIN <= int(p) <= INT_MAX):
            raise InvalidInput("priority must be an integer (64-bit) or null")
        fields["priority"] = None if p is None else int(p)
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidInput("tags must be an array of strings")
        fields["tags"] = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    return fields


def _write_tags(scenario: Scenario) -> None:
    ScenarioTag.delete().where(ScenarioTag.scenario == scenario.scenario_id).execute()
    if scenario.tags:
        ScenarioTag.insert_many([{"tag": t, "scenario": scenario.scenario_id} for t in scenario.tags]).execute()


def insert_scenario(svc: Services, fields: dict[str, Any], *, scenario_id: str | None = None, publish: bool = True) -> Scenario:
    """Insert already-checked fields (used by create, the library seed and imports)."""
    now = svc.now()
    values = {
        "scenario_type": "full", "content": {}, "rubric_criteria": [], "is_active": True,
        "approved": True, "tags": [], "source": "api", **fields,
    }
    with database.atomic():
        scenario = Scenario.create(scenario_id=scenario_id or svc.new_id(), created_at=now, updated_at=now, **values)
        _write_tags(scenario)
    if publish:
        svc.bus.emit(LibraryEvent.SCENARIO_CREATED, EventTable.SCENARIOS, scenario_json(scenario))
    return scenario


def create_scenario(svc: Services, data: dict[str, Any]) -> Scenario:
    fields = _checked_fields(data, creating=True)
    return insert_scenario(svc, fields)


def update_scenario(svc: Services, scenario_id: Any, data: dict[str, Any]) -> Scenario:
    scenario = get_scenario(scenario_id)
    fields = _checked_fields({k: v for k, v in data.items() if k in EDITABLE}, creating=False)
    for key, value in fields.items():
        setattr(scenario, key, value)
    scenario.updated_at = svc.now()
    with database.atomic():  # one transaction: all fields change or none
        scenario.save()
        if "tags" in fields:
            _write_tags(scenario)
    svc.bus.emit(LibraryEvent.SCENARIO_UPDATED, EventTable.SCENARIOS, scenario_json(scenario))
    return scenario


def delete_scenario(svc: Services, scenario_id: Any) -> None:
    scenario = get_scenario(scenario_id)
    if scenario.is_active:
        scenario.is_active = False
        scenario.updated_at = svc.now()
        with database.atomic():
            scenario.save()
    svc.bus.emit(LibraryEvent.SCENARIO_DELETED, EventTable.SCENARIOS, {"scenario_id": scenario.scenario_id, "name": scenario.name})


def counts() -> dict[str, int]:
    live = Scenario.select().where(Scenario.is_active == True)  # noqa: E712
    return {
        "active": live.where(Scenario.approved == True).count(),  # noqa: E712
        "drafts": live.where(Scenario.approved == False).count(),  # noqa: E712
    }


@dataclass
class Selection:
    """The scenarios a run request picks, in run order, and those it had to leave out (with why)."""

    runnable: list[Scenario]
    skipped: list[dict[str, str]] = field(default_factory=list)
    suite_id: str | None = None  # the suite the run belongs to, when the request named one


def select_for_run(request: RunRequest) -> Selection:
    """Pick a run's scenarios as the reference does: explicit ids (in request order), else a suite, else tags,
    else every active, approved scenario (priority, then name); `max_scenarios` keeps the first N of the last three.
    Scenarios that cannot run (no patient opening, no rubric) are skipped with the reason."""
    live = (Scenario.is_active == True) & (Scenario.approved == True)  # noqa: E712
    order = (Scenario.priority.asc(nulls="LAST"), Scenario.name, Scenario.scenario_id)
    skipped: list[dict[str, str]] = []
    suite_id: str | None = None
    if request.scenario_ids is not None:
        ids = list(request.scenario_ids)
        if not ids:
            raise InvalidInput("No active scenarios found for the given scenario_ids")
        wanted = [canonical_uuid(i) for i in ids]
        found = {s.scenario_id: s for s in Scenario.select().where(Scenario.scenario_id.in_([w for w in wanted if w]), live)}
        selected = [found[w] for w in dict.fromkeys(wanted) if w in found]
        skipped += [{"id": raw, "reason": "not an active, approved scenario"}
                    for raw, w in zip(ids, wanted, strict=True) if w not in found]
        if not selected:
            raise InvalidInput("No active scenarios found for the given scenario_ids")
    else:
        if request.test_suite_id is not None:
            suite = TestSuite.get_or_none(TestSuite.id == canonical_uuid(request.test_suite_id))
            if suite is None:
                raise NotFound("Test suite not found")
            suite_id = suite.id
            query = Scenario.select().where(Scenario.scenario_id.in_(suite.scenario_ids), live)
        elif request.tags:
            tagged = ScenarioTag.select(ScenarioTag.scenario).where(ScenarioTag.tag.in_(list(request.tags)))
            query = Scenario.select().where(live, Scenario.scenario_id.in_(tagged))
        else:
            query = Scenario.select().where(live)
        selected = list(query.order_by(*order))
        if request.max_scenarios:
            selected = selected[:request.max_scenarios]
    runnable = []
    for s in selected:
        problems = runnable_problems(s.content or {}, s.rubric_criteria or [])
        if problems:
            skipped.append({"id": s.scenario_id, "name": s.name, "reason": "; ".join(problems)})
        else:
            runnable.append(s)
    return Selection(runnable, skipped, suite_id)

"""Regrades: a finished run graded again, stored beside its own gradings (never over them), and compared.

A run's own grading of a scenario run is its latest `grading` row; a regrade's are `regrade_grading`
rows under one `regrade`. Either can be read as the same plain rows (`grading_rows`), so statistics,
reports and agreement work on any of them.
"""

from __future__ import annotations

from typing import Any

from preclinical.domain import scoring
from preclinical.domain.agreement import RegradeStatus, compare_gradings
from preclinical.domain.run import ScenarioRunStatus
from preclinical.domain.scenario_rules import acceptable_levels
from preclinical.domain.triage import compare
from preclinical.errors import NotFound
from preclinical.services import Services
from preclinical.store.ids import canonical_uuid
from preclinical.store.models import Regrade, RegradeGrading, Scenario, ScenarioRun, TestRun
from preclinical.store.runs import latest_gradings
from preclinical.store.serialize import iso

REGRADE_NOT_FOUND = "Regrade not found"
ORIGINAL = "original"


def regrade_json(regrade: Regrade) -> dict[str, Any]:
    return {
        "id": regrade.id, "test_run_id": regrade.test_run_id, "label": regrade.label, "engine": regrade.engine,
        "judge_model": regrade.judge_model, "temperature": regrade.temperature,
        "rubric_overrides": sorted((regrade.rubric_overrides or {}).keys()), "status": regrade.status,
        "total": regrade.total, "graded": regrade.graded, "errors": regrade.errors,
        "created_at": iso(regrade.created_at), "completed_at": iso(regrade.completed_at),
    }


def create_regrade(svc: Services, run: TestRun, *, label: str, engine: str, judge_model: str | None,
                   temperature: float | None, rubric_overrides: dict[str, Any] | None, total: int) -> Regrade:
    return Regrade.create(id=svc.new_id(), test_run=run.id, label=label, engine=engine, judge_model=judge_model,
                          temperature=temperature, rubric_overrides=rubric_overrides or None,
                          status=RegradeStatus.RUNNING,
                          total=total, created_at=svc.now())


def save_regrading(svc: Services, regrade_id: str, sr_id: str, values: dict[str, Any] | None,
                   error: str | None = None) -> None:
    """One scenario run's new grading (or the error that stopped it), and the regrade's counts."""
    fields = values or {"engine": "none", "passed": None}
    RegradeGrading.create(id=svc.new_id(), regrade=regrade_id, scenario_run=sr_id, error=error,
                          created_at=svc.now(), **fields)
    counter = Regrade.errors if error else Regrade.graded
    Regrade.update({counter: counter + 1}).where(Regrade.id == regrade_id).execute()


def finish_regrade(svc: Services, regrade_id: str, status: RegradeStatus = RegradeStatus.COMPLETED) -> None:
    Regrade.update(status=status, completed_at=svc.now()).where(Regrade.id == regrade_id).execute()


def close_interrupted() -> int:
    """At start-up: regrades left running by a process that stopped are marked interrupted."""
    return Regrade.update(status=RegradeStatus.INTERRUPTED).where(Regrade.status == RegradeStatus.RUNNING).execute()


def list_regrades(run: TestRun) -> list[dict[str, Any]]:
    return [regrade_json(r) for r in Regrade.select().where(Regrade.test_run == run.id).order_by(Regrade.created_at)]


def get_regrade(run: TestRun, ref: Any) -> Regrade:
    key = canonical_uuid(ref) if isinstance(ref, str) else None
    found = Regrade.get_or_none((Regrade.id == key) & (Regrade.test_run == run.id)) if key else None
    if found is None and isinstance(ref, str):  # by label, the latest with it
        found = (Regrade.select().where(Regrade.test_run == run.id, Regrade.label == ref)
                 .order_by(Regrade.created_at.desc()).first())
    if found is None:
        raise NotFound(f"{REGRADE_NOT_FOUND}: {ref}")
    return found


def _axes(scenario_ids: set[str]) -> dict[str, list[str]]:
    """Each scenario's rubric axes by criterion index."""
    found: dict[str, list[str]] = {}
    for row in Scenario.select(Scenario.scenario_id, Scenario.rubric_criteria).where(
            Scenario.scenario_id.in_([s for s in scenario_ids if s])):
        found[row.scenario_id] = [next((t[5:] for t in c.tags if t.startswith("axis:")), "untagged")
                                  for c in scoring.normalize_rubric(row.rubric_criteria or [])]
    return found


def grading_rows(run: TestRun, regrade: Regrade | None = None) -> list[dict[str, Any]]:
    """Every scenario run of the run in order, with the chosen grading (the run's own, or a regrade's)."""
    runs = list(ScenarioRun.select(ScenarioRun.id, ScenarioRun.scenario, ScenarioRun.status, ScenarioRun.position,
                                   ScenarioRun.repeat_index)
                .where(ScenarioRun.test_run == run.id).order_by(ScenarioRun.position, ScenarioRun.id))
    names: dict[str | None, tuple[str | None, str | None, list[str]]] = {
        s.scenario_id: (s.name, (s.content or {}).get("gold_standard"), acceptable_levels(s.content)) for s in Scenario.select(
        Scenario.scenario_id, Scenario.name, Scenario.content).where(
        Scenario.scenario_id.in_([r.scenario_id for r in runs if r.scenario_id]))}
    if regrade is None:
        gradings: dict[str, Any] = latest_gradings([r.id for r in runs])
    else:
        gradings = {g.scenario_run_id: g for g in RegradeGrading.select().where(RegradeGrading.regrade == regrade.id)}
    axes = _axes({r.scenario_id for r in runs if r.scenario_id})
    rows = []
    for sr in runs:
        g = gradings.get(sr.id)
        name, gold, acceptable = names.get(sr.scenario_id, (None, None, []))
        results = [dict(r) for r in (g.criteria_results if g else None) or []]
        for result in results:
            index = result.get("criterion_index")
            by_index = axes.get(sr.scenario_id or "", [])
            result["axis"] = by_index[index] if isinstance(index, int) and index < len(by_index) else "untagged"
        rows.append({
            "scenario_run_id": sr.id, "scenario_id": sr.scenario_id, "scenario_name": name,
            "status": sr.status if regrade is None or g is None or g.passed is None else (
                ScenarioRunStatus.PASSED if g.passed else ScenarioRunStatus.FAILED),
            "repeat_index": sr.repeat_index, "passed": None if g is None or g.passed is None else bool(g.passed),
            "triage_result": g.triage_result if g else None,
            "gold_standard": (g.gold_standard if g and g.gold_standard else gold),
            "score_percent": g.score_percent if g else None, "criteria_results": results,
            "grade_summary": g.summary if g else None, "total_points": g.total_points if g else None,
            "max_points": g.max_points if g else None,
            "triage_correct": None if g is None or g.triage_correct is None else bool(g.triage_correct),
            # Against the gold and the case's acceptable alternatives, as the grader places it.
            "triage_comparison": None if g is None or g.passed is None else compare(
                g.triage_result, (g.gold_standard if g.gold_standard else gold), acceptable),
        })
    return rows


def agreement(run: TestRun, regrade: Regrade, against: Regrade | None = None) -> dict[str, Any]:
    """How far `regrade` agrees with the run's own grading (or with another regrade): kappa, flips, disagreements."""
    a_rows = {r["scenario_run_id"]: r for r in grading_rows(run, against)}
    b_rows = grading_rows(run, regrade)
    pairs = [{"scenario_run_id": b["scenario_run_id"], "scenario_id": b["scenario_id"],
              "scenario_name": b["scenario_name"], "a": a_rows[b["scenario_run_id"]], "b": b}
             for b in b_rows if b["scenario_run_id"] in a_rows and (b["criteria_results"] or b["passed"] is not None)]
    result = compare_gradings(pairs)
    return {"a": ORIGINAL if against is None else regrade_json(against), "b": regrade_json(regrade), **result}

"""Clinician reviews: a reviewer's decisions on a scenario run's criteria and disposition, stored with their name,
exported and imported as files, and compared with the judge (kappa per criterion and per axis, disagreements).
"""

from __future__ import annotations

from typing import Any

from preclinical.domain import scoring, triage
from preclinical.domain.agreement import compare_gradings
from preclinical.errors import InvalidInput
from preclinical.services import Services
from preclinical.store.models import Review, Scenario, ScenarioRun, TestRun
from preclinical.store.regrades import grading_rows
from preclinical.store.serialize import iso

FORMAT = "preclinical-reviews"
VERSION = 1
REVIEWABLE = ("MET", "PARTIALLY MET", "NOT MET")


def _rubric(scenario_id: str | None) -> list[scoring.Criterion]:
    row = Scenario.get_or_none(Scenario.scenario_id == scenario_id) if scenario_id else None
    return scoring.normalize_rubric(row.rubric_criteria if row else [])


def _clean(criteria: Any, rubric: list[scoring.Criterion]) -> list[dict[str, Any]]:
    if not isinstance(criteria, list):
        raise InvalidInput("criteria must be a list of {criterion_index, decision}")
    cleaned: dict[int, str] = {}
    for item in criteria:
        if not isinstance(item, dict):
            raise InvalidInput("criteria must be a list of {criterion_index, decision}")
        index, decision = item.get("criterion_index"), item.get("decision")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(rubric):
            raise InvalidInput(f"criterion_index must be 0 to {len(rubric) - 1}")
        if decision not in REVIEWABLE:
            raise InvalidInput("decision must be MET, PARTIALLY MET or NOT MET")
        cleaned[index] = decision
    return [{"criterion_index": i, "criterion": rubric[i].criterion, "decision": cleaned[i]} for i in sorted(cleaned)]


def save_review(svc: Services, sr: ScenarioRun, *, reviewer: Any, criteria: Any, disposition: Any = None,
                note: Any = None) -> Review:
    """Store (or replace) this reviewer's review of the scenario run."""
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise InvalidInput("reviewer is required: the reviewer's name")
    level = None
    if disposition not in (None, ""):
        level = triage.normalize_level(disposition) if isinstance(disposition, str) else None
        if level is None:
            raise InvalidInput("disposition must be Emergency, Clinician or Home care")
    if note is not None and not isinstance(note, str):
        raise InvalidInput("note must be text")
    cleaned = _clean(criteria, _rubric(sr.scenario_id))
    now = svc.now()
    existing = Review.get_or_none(Review.scenario_run == sr.id, Review.reviewer == reviewer.strip())
    if existing is not None:
        existing.criteria, existing.disposition, existing.note, existing.updated_at = cleaned, level, note, now
        existing.save()
        return existing
    return Review.create(id=svc.new_id(), scenario_run=sr.id, reviewer=reviewer.strip(), criteria=cleaned,
                         disposition=level, note=note or None, created_at=now, updated_at=now)


def review_json(review: Review, sr: ScenarioRun | None = None) -> dict[str, Any]:
    sr = sr or review.scenario_run
    return {"id": review.id, "scenario_run_id": sr.id, "scenario_id": sr.scenario_id, "position": sr.position,
            "repeat_index": sr.repeat_index, "reviewer": review.reviewer, "criteria": review.criteria or [],
            "disposition": review.disposition, "note": review.note, "created_at": iso(review.created_at),
            "updated_at": iso(review.updated_at)}


def run_reviews(run: TestRun) -> list[dict[str, Any]]:
    rows = (Review.select(Review, ScenarioRun).join(ScenarioRun).where(ScenarioRun.test_run == run.id)
            .order_by(ScenarioRun.position, Review.reviewer))
    return [review_json(r, r.scenario_run) for r in rows]


def _as_grading(review: dict[str, Any], rubric: list[scoring.Criterion], axes: list[str]) -> dict[str, Any]:
    """A review read as a grading: its decisions scored the way the judge's are (so verdicts can flip)."""
    decided = {c["criterion_index"]: c["decision"] for c in review["criteria"]}
    results = [{**scoring.result_for(rubric[i], i, decided[i], ""), "axis": axes[i] if i < len(axes) else "untagged"}
               for i in sorted(decided) if i < len(rubric)]
    score = scoring.score(rubric, results) if results else None
    return {"passed": None if score is None or len(results) < len(rubric) else score.passed,
            "triage_result": review["disposition"], "disposition_unread": review["disposition"] is None,
            "criteria_results": results}


def judge_agreement(run: TestRun) -> dict[str, Any]:
    """The judge (the run's own grading) against every clinician review of the run."""
    reviews = run_reviews(run)
    judge = {r["scenario_run_id"]: r for r in grading_rows(run)}
    rubrics: dict[str, list[scoring.Criterion]] = {}
    pairs = []
    for review in reviews:
        row = judge.get(review["scenario_run_id"])
        if row is None:
            continue
        sid = review["scenario_id"]
        if sid not in rubrics:
            rubrics[sid] = _rubric(sid)
        axes = [next((t[5:] for t in c.tags if t.startswith("axis:")), "untagged") for c in rubrics[sid]]
        pairs.append({"scenario_run_id": review["scenario_run_id"], "scenario_id": sid,
                      "scenario_name": row["scenario_name"], "reviewer": review["reviewer"],
                      "a": row, "b": _as_grading(review, rubrics[sid], axes)})
    result = compare_gradings(pairs)
    return {"reviews": len(reviews), "reviewers": sorted({r["reviewer"] for r in reviews}),
            "scenario_runs": len({r["scenario_run_id"] for r in reviews}), **result}


def export_reviews(run: TestRun) -> dict[str, Any]:
    return {"format": FORMAT, "version": VERSION, "run": {"id": run.id, "test_run_id": run.test_run_id},
            "reviews": run_reviews(run)}


def import_reviews(svc: Services, run: TestRun, document: Any) -> dict[str, Any]:
    """Reviews from an exported file: matched to this run's scenario runs by id, else by position.

    A reviewer's review replaces their earlier one of the same scenario run. Returns what was done.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(
            document.get("reviews"), list):
        raise InvalidInput(f"Not a reviews file: expected {{\"format\": \"{FORMAT}\", \"reviews\": [...]}}")
    by_id = {sr.id: sr for sr in ScenarioRun.select().where(ScenarioRun.test_run == run.id)}
    by_position = {sr.position: sr for sr in by_id.values()}
    same_run = (document.get("run") or {}).get("id") == run.id or (
        document.get("run") or {}).get("test_run_id") == run.test_run_id
    imported, skipped = 0, []
    for n, item in enumerate(document["reviews"]):
        if not isinstance(item, dict):
            skipped.append({"index": n, "reason": "not an object"})
            continue
        sr = by_id.get(str(item.get("scenario_run_id")))
        if sr is None and same_run and isinstance(item.get("position"), int):
            sr = by_position.get(item["position"])
        if sr is None or (item.get("scenario_id") and sr.scenario_id != item.get("scenario_id")):
            skipped.append({"index": n, "reason": "no matching scenario run in this run"})
            continue
        try:
            save_review(svc, sr, reviewer=item.get("reviewer"), criteria=item.get("criteria") or [],
                        disposition=item.get("disposition"), note=item.get("note"))
        except InvalidInput as exc:
            skipped.append({"index": n, "reason": exc.message})
            continue
        imported += 1
    return {"imported": imported, "skipped": skipped}

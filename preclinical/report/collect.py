"""Everything a report shows, read from the store in a few queries and shaped as plain dicts.

The HTML renderer (`report.html`) is pure and takes these dicts; the API, the command line and the
interface all build reports through `run_report` / `comparison_report` here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from preclinical.domain import scoring
from preclinical.domain.run import all_criteria, wire_criteria
from preclinical.domain.stats import repeats_by_scenario, run_summary
from preclinical.store import regrades, reviews
from preclinical.store.comparison import compare_test_runs
from preclinical.store.models import Regrade, Scenario, TestRun
from preclinical.store.runs import resolve_run, scenario_runs_page
from preclinical.store.serialize import scenario_run_json, test_run_json

UNTAGGED = "untagged"


def _rubric_tags(scenario_ids: Iterable[str]) -> dict[str, list[list[str]]]:
    """Each scenario's rubric tags, by criterion index."""
    ids = [s for s in set(scenario_ids) if s]
    found: dict[str, list[list[str]]] = {}
    for row in Scenario.select(Scenario.scenario_id, Scenario.rubric_criteria).where(Scenario.scenario_id.in_(ids)):
        found[row.scenario_id] = [c.tags for c in scoring.normalize_rubric(row.rubric_criteria or [])]
    return found


def axis_of(tags: list[str]) -> str:
    for tag in tags:
        if tag.startswith("axis:"):
            return tag[len("axis:"):]
    return UNTAGGED


def _with_axes(rows: list[dict[str, Any]]) -> None:
    """Give every criterion result its axis (from the scenario's rubric tags)."""
    tags = _rubric_tags(r["scenario_id"] for r in rows)
    for row in rows:
        by_index = tags.get(row["scenario_id"], [])
        for result in all_criteria(row):
            index = result.get("criterion_index")
            result["axis"] = axis_of(by_index[index]) if isinstance(index, int) and index < len(by_index) else UNTAGGED


def axis_totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per axis: how many criterion results were MET / PARTIALLY MET / NOT MET / UNGRADED, and points earned."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        for result in all_criteria(row):
            axis = totals.setdefault(result.get("axis") or UNTAGGED, {
                "axis": result.get("axis") or UNTAGGED, "awarded": 0.0, "possible": 0.0,
                **{d: 0 for d in scoring.DECISIONS}})
            decision = result.get("decision") if result.get("decision") in scoring.DECISIONS else scoring.NOT_MET
            axis[decision] += 1
            if decision != scoring.UNGRADED:
                # As a scenario's score counts them: a penalty (negative points) takes points away when MET and
                # never adds to what was possible, so an axis never shows more than 100 % (nor less than 0).
                axis["awarded"] += float(result.get("points_awarded") or 0)
                axis["possible"] += max(float(result.get("points_possible") or 0), 0.0)
    ordered = sorted(totals.values(), key=lambda a: (a["axis"] == UNTAGGED, a["axis"]))
    for axis in ordered:
        axis["percent"] = max(axis["awarded"], 0.0) / axis["possible"] * 100 if axis["possible"] else None
    return ordered


def repeats_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The repeat statistics when some scenario ran more than once in the run, else None."""
    counts = Counter(r.get("scenario_id") for r in rows if r.get("scenario_id"))
    return repeats_by_scenario(rows) if any(n > 1 for n in counts.values()) else None


def _graders(rows: list[dict[str, Any]]) -> list[str]:
    seen: Counter[str] = Counter()
    for row in rows:
        grader = (row.get("metadata") or {}).get("grader") or {}
        if grader.get("engine"):
            seen[f"{grader['engine']}" + (f" · {grader['model']}" if grader.get("model") else "")] += 1
    return [name for name, _ in seen.most_common()]


_GRADING_FIELDS = ("passed", "triage_result", "gold_standard", "score_percent", "criteria_results", "grade_summary",
                   "total_points", "max_points", "triage_correct", "triage_comparison")


def run_report(ref: Any, *, now: str | None = None, grading: Any = None) -> dict[str, Any]:
    """A run's report model: the run, its summary with intervals, axes, repeats, agreement and every scenario run.

    `grading` (a regrade's id or label) shows that regrade's grading instead of the run's own, with its
    agreement against the run's own; otherwise the latest finished regrade, if any, is compared.
    """
    run = ref if isinstance(ref, TestRun) else resolve_run(ref, include_deleted=True)
    items, _ = scenario_runs_page(run, limit=1_000_000)
    rows = [scenario_run_json(*item) for item in items]
    regrade = regrades.get_regrade(run, grading) if grading else None
    if regrade is not None:
        chosen = {r["scenario_run_id"]: r for r in regrades.grading_rows(run, regrade)}
        for row in rows:
            new = chosen.get(row["id"])
            if new is not None:
                row.update({k: new[k] for k in _GRADING_FIELDS})
                row["criteria_results"], row["ungraded_criteria"] = wire_criteria(new["criteria_results"])
                row["metadata"] = {**(row.get("metadata") or {}), "grader": {
                    "engine": regrade.engine, "model": regrade.judge_model}}
    _with_axes(rows)
    compared = regrade or (Regrade.select()
                           .where(Regrade.test_run == run.id, Regrade.status == regrades.RegradeStatus.COMPLETED)
                           .order_by(Regrade.created_at.desc()).first())
    agreement = None
    if compared is not None:
        agreement = regrades.agreement(run, compared)
        agreement["title"] = f"the run's own grading vs {compared.label}"
        agreement["columns"] = ("Run's grading", compared.label)
    return {
        "kind": "run", "generated_at": now, "run": test_run_json(run), "summary": run_summary(rows),
        "grading": None if regrade is None else regrades.regrade_json(regrade),
        "graders": _graders(rows), "axes": axis_totals(rows), "repeats": repeats_of(rows), "agreement": agreement,
        "clinicians": _clinicians(run),
        "scenario_runs": rows,
    }


def _clinicians(run: TestRun) -> dict[str, Any] | None:
    found = reviews.judge_agreement(run)
    if not found["reviews"]:
        return None
    who = ", ".join(found["reviewers"])
    found["title"] = f"the judge vs clinicians ({found['reviews']} reviews of {found['scenario_runs']} scenario runs by {who})"
    found["columns"] = ("Judge", "Clinician")
    return found


def comparison_report(base: Any, candidate: Any, *, now: str | None = None) -> dict[str, Any]:
    """A comparison's report model: `compare_test_runs` as the API answers it."""
    return {"kind": "comparison", "generated_at": now, "comparison": compare_test_runs(base, candidate)}

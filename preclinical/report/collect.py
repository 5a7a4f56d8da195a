"""Everything a report shows, read from the store in a few queries and shaped as plain dicts.

The HTML renderer (`report.html`) is pure and takes these dicts; the API, the command line and the
interface all build reports through `run_report` / `comparison_report` here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from preclinical.domain import agreement, scoring, triage
from preclinical.domain.run import all_criteria
from preclinical.domain.stats import run_summary
from preclinical.store.comparison import compare_test_runs
from preclinical.store.models import Scenario, TestRun
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
                axis["awarded"] += float(result.get("points_awarded") or 0)
                axis["possible"] += float(result.get("points_possible") or 0)
    ordered = sorted(totals.values(), key=lambda a: (a["axis"] == UNTAGGED, a["axis"]))
    for axis in ordered:
        axis["percent"] = axis["awarded"] / axis["possible"] * 100 if axis["possible"] else None
    return ordered


def repeats_of(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The repeat statistics when some scenario ran more than once in the run, else None."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("scenario_id"):
            groups.setdefault(row["scenario_id"], []).append(row)
    if not any(len(g) > 1 for g in groups.values()):
        return None
    summary = agreement.repeat_summary({
        sid: [{"passed": r.get("passed"), "disposition": triage.normalize_level(r.get("triage_result") or ""),
               "score": r.get("score_percent") if r.get("passed") is not None else None} for r in group]
        for sid, group in groups.items()})
    for item in summary["scenarios"]:
        first = groups[item["scenario_id"]][0]
        item["scenario_name"] = first.get("scenario_name")
        item["gold_standard"] = first.get("gold_standard")
        item["verdicts"] = [r.get("passed") for r in groups[item["scenario_id"]]]
    return summary


def _graders(rows: list[dict[str, Any]]) -> list[str]:
    seen: Counter[str] = Counter()
    for row in rows:
        grader = (row.get("metadata") or {}).get("grader") or {}
        if grader.get("engine"):
            seen[f"{grader['engine']}" + (f" · {grader['model']}" if grader.get("model") else "")] += 1
    return [name for name, _ in seen.most_common()]


def run_report(ref: Any, *, now: str | None = None) -> dict[str, Any]:
    """A run's report model: the run, its summary with intervals, axes, repeats and every scenario run."""
    run = ref if isinstance(ref, TestRun) else resolve_run(ref, include_deleted=True)
    items, _ = scenario_runs_page(run, limit=1_000_000)
    rows = [scenario_run_json(*item) for item in items]
    _with_axes(rows)
    return {
        "kind": "run", "generated_at": now, "run": test_run_json(run), "summary": run_summary(rows),
        "graders": _graders(rows), "axes": axis_totals(rows), "repeats": repeats_of(rows), "scenario_runs": rows,
    }


def comparison_report(base: Any, candidate: Any, *, now: str | None = None) -> dict[str, Any]:
    """A comparison's report model: `compare_test_runs` as the API answers it."""
    return {"kind": "comparison", "generated_at": now, "comparison": compare_test_runs(base, candidate)}

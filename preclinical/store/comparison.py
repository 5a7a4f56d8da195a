"""Comparing two test runs: the few columns the statistics need, read in one query per run (no transcripts)."""

from __future__ import annotations

from typing import Any

from preclinical.domain.run import run_verdict
from preclinical.domain.stats import compare_runs, repeats_by_scenario, run_summary
from preclinical.errors import InvalidInput, NotFound
from preclinical.store import db
from preclinical.store.models import TestRun
from preclinical.store.runs import RUN_NOT_FOUND, resolve_run

_ROWS_SQL = (
    "SELECT sr.scenario_id, s.name, sr.status, g.passed, g.triage_result,"
    " COALESCE(NULLIF(g.gold_standard, ''), json_extract(s.content, '$.gold_standard')), g.score_percent,"
    " json_extract(sr.metadata, '$.grader.triage_comparison')"
    " FROM scenario_run sr LEFT JOIN scenario s ON s.scenario_id = sr.scenario_id"
    " LEFT JOIN grading g ON g.id = (SELECT id FROM grading WHERE scenario_run_id = sr.id"
    " ORDER BY created_at DESC, id DESC LIMIT 1)"
    " WHERE sr.test_run_id = ? ORDER BY sr.position, sr.id"
)


def comparison_rows(run: TestRun) -> list[dict[str, Any]]:
    """A run's scenario runs in run order, each with its latest verdict and triage against the gold level (the
    grader's own placement, which knows the case's acceptable alternatives)."""
    return [
        {"scenario_id": sid, "scenario_name": name, "status": status,
         "passed": None if passed is None else bool(passed), "triage_result": triage, "gold_standard": gold,
         "score_percent": score, "triage_comparison": placement if passed is not None else None}
        for sid, name, status, passed, triage, gold, score, placement in db.execute(_ROWS_SQL, (run.id,)).fetchall()
    ]


def _run_ref(run: TestRun) -> dict[str, Any]:
    return {"id": run.id, "test_run_id": run.test_run_id, "name": run.name, "agent_name": run.agent_name,
            "status": run.status, "verdict": run_verdict(run).as_json()}


def _resolve(ref: Any, which: str) -> TestRun:
    try:
        return resolve_run(ref)
    except NotFound:
        raise NotFound(f"{RUN_NOT_FOUND}: {which} {ref}") from None


def run_statistics(ref: Any, grading: Any = None) -> dict[str, Any]:
    """One run's summary with intervals and its triage matrix; with repeats, per-scenario and overall consistency.

    `grading` selects a regrade (id or label) instead of the run's own grading.
    """
    from preclinical.store import regrades

    run = resolve_run(ref)
    regrade = regrades.get_regrade(run, grading) if grading else None
    rows = comparison_rows(run) if regrade is None else regrades.grading_rows(run, regrade)
    summary = run_summary(rows)
    summary.pop("repeats", None)
    return {"run": _run_ref(run), "grading": regrades.ORIGINAL if regrade is None else regrades.regrade_json(regrade),
            "repeats": run.repeats or 1, **summary,
            "consistency": repeats_by_scenario(rows) if "scenarios" in summary else None}


def compare_test_runs(base_ref: Any, candidate_ref: Any) -> dict[str, Any]:
    """`compare_runs` for two runs given by UUID or `run_…` id, each side with the run it describes."""
    if not base_ref or not candidate_ref:
        raise InvalidInput("base and candidate are required")
    base, candidate = _resolve(base_ref, "base"), _resolve(candidate_ref, "candidate")
    result = compare_runs(comparison_rows(base), comparison_rows(candidate))
    result["base"] = {"run": _run_ref(base), **result["base"]}
    result["candidate"] = {"run": _run_ref(candidate), **result["candidate"]}
    return result

"""Comparing two test runs: the few columns the statistics need, read in one query per run (no transcripts)."""

from __future__ import annotations

from typing import Any

from preclinical.domain.run import run_verdict
from preclinical.domain.stats import compare_runs
from preclinical.errors import InvalidInput, NotFound
from preclinical.store import db
from preclinical.store.models import TestRun
from preclinical.store.runs import RUN_NOT_FOUND, resolve_run

_ROWS_SQL = (
    "SELECT sr.scenario_id, s.name, sr.status, g.passed, g.triage_result,"
    " COALESCE(NULLIF(g.gold_standard, ''), json_extract(s.content, '$.gold_standard'))"
    " FROM scenario_run sr LEFT JOIN scenario s ON s.scenario_id = sr.scenario_id"
    " LEFT JOIN grading g ON g.id = (SELECT id FROM grading WHERE scenario_run_id = sr.id"
    " ORDER BY created_at DESC, id DESC LIMIT 1)"
    " WHERE sr.test_run_id = ? ORDER BY sr.position, sr.id"
)


def comparison_rows(run: TestRun) -> list[dict[str, Any]]:
    """A run's scenario runs in run order, each with its latest verdict and triage against the gold level."""
    return [
        {"scenario_id": sid, "scenario_name": name, "status": status,
         "passed": None if passed is None else bool(passed), "triage_result": triage, "gold_standard": gold}
        for sid, name, status, passed, triage, gold in db.execute(_ROWS_SQL, (run.id,)).fetchall()
    ]


def _run_ref(run: TestRun) -> dict[str, Any]:
    return {"id": run.id, "test_run_id": run.test_run_id, "name": run.name, "agent_name": run.agent_name,
            "status": run.status, "verdict": run_verdict(run).as_json()}


def _resolve(ref: Any, which: str) -> TestRun:
    try:
        return resolve_run(ref)
    except NotFound:
        raise NotFound(f"{RUN_NOT_FOUND}: {which} {ref}") from None


def compare_test_runs(base_ref: Any, candidate_ref: Any) -> dict[str, Any]:
    """`compare_runs` for two runs given by UUID or `run_…` id, each side with the run it describes."""
    if not base_ref or not candidate_ref:
        raise InvalidInput("base and candidate are required")
    base, candidate = _resolve(base_ref, "base"), _resolve(candidate_ref, "candidate")
    result = compare_runs(comparison_rows(base), comparison_rows(candidate))
    result["base"] = {"run": _run_ref(base), **result["base"]}
    result["candidate"] = {"run": _run_ref(candidate), **result["candidate"]}
    return result

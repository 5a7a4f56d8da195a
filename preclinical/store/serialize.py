"""Rows to API JSON: the one place where field names, null rules and timestamp format are decided."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from preclinical.bus import Event
from preclinical.domain.run import run_verdict, wire_criteria
from preclinical.domain.scenario_rules import runnable_problems
from preclinical.domain.secrets import mask_config
from preclinical.store.models import Agent, Grading, Scenario, ScenarioRun, TestRun


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and `Z` (the stored datetimes are naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):  # tolerate rows read back as text
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def agent_json(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "provider": agent.provider,
        "name": agent.name,
        "description": agent.description,
        "config": mask_config(agent.config or {}),
        "is_active": bool(agent.is_active),
        "deleted_at": iso(agent.deleted_at),
        "created_at": iso(agent.created_at),
        "updated_at": iso(agent.updated_at),
    }


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    return {
        "scenario_id": scenario.scenario_id,
        "name": scenario.name,
        "category": scenario.category,
        "scenario_type": scenario.scenario_type,
        "content": scenario.content or {},
        "rubric_criteria": scenario.rubric_criteria or [],
        "is_active": bool(scenario.is_active),
        "approved": bool(scenario.approved),
        "priority": scenario.priority,
        "tags": list(scenario.tags or []),
        "source": scenario.source,
        "library_key": scenario.library_key,
        "problems": runnable_problems(scenario.content or {}, scenario.rubric_criteria or []),
        "created_at": iso(scenario.created_at),
        "updated_at": iso(scenario.updated_at),
    }


def test_run_json(run: TestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "test_run_id": run.test_run_id,
        "test_suite_id": run.test_suite_id,
        "agent_id": run.agent_id,
        "agent_type": run.agent_type,
        "agent_name": run.agent_name,
        "name": run.name,
        "status": run.status,
        "total_scenarios": run.total_scenarios,
        "max_turns": run.max_turns,
        "concurrency_limit": run.concurrency_limit,
        "passed_count": run.passed_count,
        "failed_count": run.failed_count,
        "error_count": run.error_count,
        "pass_rate": float(run.pass_rate or 0.0),
        "benchmark_mode": bool(run.benchmark_mode),
        "creative_mode": bool(run.creative_mode),
        "is_finalizing": bool(run.is_finalizing),
        "finalize_started_at": iso(run.finalize_started_at),
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "canceled_at": iso(run.canceled_at),
        "deleted_at": iso(run.deleted_at),
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "verdict": run_verdict(run).as_json(),
        "spec": run.spec,
    }


def scenario_run_json(
    row: ScenarioRun, grading: Grading | None, scenario_name: str | None, gold: str | None = None
) -> dict[str, Any]:
    return {
        "id": row.id,
        "test_run_id": row.test_run_id,
        "scenario_id": row.scenario_id,
        "position": row.position,
        "status": row.status,
        "transcript": row.transcript if isinstance(row.transcript, list) else [],
        "metadata": row.metadata,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "last_heartbeat_at": iso(row.last_heartbeat_at),
        "duration_ms": row.duration_ms,
        "started_at": iso(row.started_at),
        "completed_at": iso(row.completed_at),
        "canceled_at": iso(row.canceled_at),
        "created_at": iso(row.created_at),
        "scenario_name": scenario_name,
        "passed": None if grading is None or grading.passed is None else bool(grading.passed),
        "grade_summary": grading.summary if grading else None,
        **_criteria(grading.criteria_results if grading else None, graded=grading is not None),
        "total_points": grading.total_points if grading else None,
        "max_points": grading.max_points if grading else None,
        "score_percent": grading.score_percent if grading else None,
        "triage_result": grading.triage_result if grading else None,
        "gold_standard": (grading.gold_standard if grading and grading.gold_standard else gold),
        "triage_correct": None if grading is None or grading.triage_correct is None else bool(grading.triage_correct),
        "ungraded_count": ungraded_count(grading.criteria_results) if grading else None,
        **triage_reading(row.metadata, graded=grading is not None),
    }


def triage_reading(metadata: Any, *, graded: bool) -> dict[str, Any]:
    """How confidently the triage was read (metadata.grader): status and reason when it could not be read,
    placement against the gold ("acceptable" for an acceptable alternative), a model/rules disagreement
    flagged for review, and whether the rules grader could grade anything at all."""
    grader = metadata.get("grader") if graded and isinstance(metadata, dict) else None
    grader = grader if isinstance(grader, dict) else {}
    review = grader.get("triage_review")
    return {
        "triage_status": grader.get("triage_status"),
        "triage_reason": grader.get("triage_reason"),
        "triage_comparison": grader.get("triage_comparison"),
        "triage_review": bool(review.get("flag")) if isinstance(review, dict) else None,
        "not_gradable_offline": grader.get("not_gradable_offline"),
    }


def ungraded_count(results: list[dict[str, Any]] | None) -> int:
    """Criteria no grader could decide (left out of the score)."""
    return sum(1 for r in results or [] if isinstance(r, dict) and r.get("decision") == "UNGRADED")


# Payload keys repeated at the top level of an event's JSON, so simple clients (the published CLI) can print them.
EVENT_LIFTED_KEYS = ("status", "passed", "scenario_name", "pass_rate", "passed_count", "failed_count", "error_count",
                     "canceled_scenarios", "reason", "scenario_run_id", "scenario_id", "turn", "total_scenarios", "error")


def event_json(event: Event) -> dict[str, Any]:
    """A run event as SSE clients and the command line see it."""
    data: dict[str, Any] = {"type": event.event_type, "table": event.table, "event_type": event.event_type,
                            "test_run_id": event.run_id, "id": event.id, "created_at": event.created_at,
                            "payload": event.payload}
    for key in EVENT_LIFTED_KEYS:
        if key in event.payload:
            data[key] = event.payload[key]
    return data


def _criteria(results: list[dict[str, Any]] | None, *, graded: bool) -> dict[str, Any]:
    """`criteria_results` (graded, with `met`) and `ungraded_criteria`: see `domain.run.wire_criteria`."""
    if not graded:
        return {"criteria_results": None, "ungraded_criteria": None}
    met, ungraded = wire_criteria(results)
    return {"criteria_results": met, "ungraded_criteria": ungraded}

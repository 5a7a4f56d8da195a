"""The scenario-run list as API JSON straight from SQL: the hottest read, kept to one query and no re-encoding.

Transcripts and metadata are passed through as pre-encoded JSON (`orjson.Fragment`), never decoded
and encoded again. The shape is exactly `serialize.scenario_run_json` (a test compares them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from preclinical.domain.run import run_verdict, wire_criteria
from preclinical.store import db

_COLUMNS = (
    "sr.id, sr.test_run_id, sr.scenario_id, sr.position, sr.status, sr.transcript, sr.metadata, sr.error_code, "
    "sr.error_message, sr.last_heartbeat_at, sr.duration_ms, sr.started_at, sr.completed_at, sr.canceled_at, "
    "sr.created_at, s.name, json_extract(s.content, '$.gold_standard'), "
    "g.id, g.passed, g.summary, g.criteria_results, g.total_points, g.max_points, g.score_percent, "
    "g.triage_result, g.gold_standard, g.triage_correct, "
    "json_extract(sr.metadata, '$.grader.triage_status'), json_extract(sr.metadata, '$.grader.triage_reason'), "
    "json_extract(sr.metadata, '$.grader.triage_comparison'), json_extract(sr.metadata, '$.grader.triage_review.flag'), "
    "json_extract(sr.metadata, '$.grader.not_gradable_offline'), sr.repeat_index"
)
_FROM = (
    "FROM scenario_run sr LEFT JOIN scenario s ON s.scenario_id = sr.scenario_id "
    "LEFT JOIN grading g ON g.id = (SELECT id FROM grading WHERE scenario_run_id = sr.id "
    "ORDER BY created_at DESC, id DESC LIMIT 1)"
)


def _iso(value: str | datetime | None) -> str | None:
    if not value:
        return None
    d = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _fragment(text: str | None, empty: str) -> orjson.Fragment:
    return orjson.Fragment(text if text else empty)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _row_json(r: tuple[Any, ...]) -> dict[str, Any]:
    graded = r[17] is not None
    criteria = ungraded = None
    if graded:
        criteria, ungraded = wire_criteria(orjson.loads(r[20] or "[]"))
    transcript = r[5]
    return {
        "id": r[0], "test_run_id": r[1], "scenario_id": r[2], "position": r[3], "repeat_index": r[32] or 0,
        "status": r[4],
        "transcript": _fragment(transcript if transcript and transcript.startswith("[") else None, "[]"),
        "metadata": _fragment(r[6], "null"),
        "error_code": r[7], "error_message": r[8], "last_heartbeat_at": _iso(r[9]), "duration_ms": r[10],
        "started_at": _iso(r[11]), "completed_at": _iso(r[12]), "canceled_at": _iso(r[13]), "created_at": _iso(r[14]),
        "scenario_name": r[15],
        "passed": _bool(r[18]) if graded else None,
        "grade_summary": r[19] if graded else None,
        "criteria_results": criteria,
        "ungraded_criteria": ungraded,
        "total_points": r[21] if graded else None,
        "max_points": r[22] if graded else None,
        "score_percent": r[23] if graded else None,
        "triage_result": r[24] if graded else None,
        "gold_standard": (r[25] if graded and r[25] else r[16]),
        "triage_correct": _bool(r[26]) if graded else None,
        "ungraded_count": len(ungraded or []) if graded else None,
        "triage_status": r[27] if graded else None,
        "triage_reason": r[28] if graded else None,
        "triage_comparison": r[29] if graded else None,
        "triage_review": _bool(r[30]) if graded else None,
        "not_gradable_offline": r[31] if graded else None,
    }


def scenario_runs_json(run_id: str, *, limit: int, offset: int, status: str | None = None
                       ) -> tuple[list[dict[str, Any]], int]:
    """A page of a run's scenario runs (run order) as API JSON, and the total matching."""
    where, params = "sr.test_run_id = ?", [run_id]
    if status:
        where += " AND sr.status = ?"
        params.append(status)
    total = db.execute(f"SELECT COUNT(*) FROM scenario_run sr WHERE {where}", params).fetchone()[0]
    rows = db.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE {where} ORDER BY sr.position, sr.id LIMIT ? OFFSET ?",
        (*params, limit, offset)).fetchall()
    return [_row_json(r) for r in rows], total


_RUN_COLUMNS = (
    "id, test_run_id, test_suite_id, agent_id, agent_type, agent_name, name, status, total_scenarios, max_turns, "
    "concurrency_limit, passed_count, failed_count, error_count, pass_rate, benchmark_mode, creative_mode, "
    "repeats, is_finalizing, finalize_started_at, started_at, completed_at, canceled_at, deleted_at, created_at, "
    "updated_at, spec"
)
_RUN_BOOLS = {"benchmark_mode", "creative_mode", "is_finalizing"}
_RUN_TIMES = {"finalize_started_at", "started_at", "completed_at", "canceled_at", "deleted_at", "created_at",
              "updated_at"}
_RUN_NAMES = [c.strip() for c in _RUN_COLUMNS.split(",")]


def _run_json(row: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in zip(_RUN_NAMES, row, strict=True):
        if name in _RUN_BOOLS:
            value = bool(value)
        elif name in _RUN_TIMES:
            value = _iso(value)
        elif name == "pass_rate":
            value = float(value or 0.0)
        elif name == "spec":
            value = orjson.loads(value) if value else None
        out[name] = value
    out["verdict"] = run_verdict(out).as_json()
    return out


def test_runs_json(*, limit: int, offset: int, status: str | None = None, agent_id: str | None = None
                   ) -> tuple[list[dict[str, Any]], int]:
    """A page of live runs, newest first, as API JSON (the shape of `serialize.test_run_json`), and the total."""
    where, params = ["deleted_at IS NULL"], []
    if status:
        where.append("status = ?")
        params.append(status)
    if agent_id:
        where.append("agent_id = ?")
        params.append(agent_id)
    clause = " AND ".join(where)
    total = db.execute(f"SELECT COUNT(*) FROM test_run WHERE {clause}", params).fetchone()[0]
    rows = db.execute(
        f"SELECT {_RUN_COLUMNS} FROM test_run WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset)).fetchall()
    return [_run_json(r) for r in rows], total

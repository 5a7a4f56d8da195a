"""Read models for the dashboard and the live views: counts, recent runs with triage accuracy, trends, run tables.

Every function is one or a few indexed queries (cheap enough to call on the loop for every repaint)
and returns plain dicts, never rows that would lazily query again.
"""

from __future__ import annotations

from typing import Any

from preclinical.domain.run import RunStatus
from preclinical.store import db
from preclinical.store.models import Agent, Scenario, ScenarioRun, ScenarioTag, TestRun
from preclinical.store.serialize import test_run_json


def overview_counts() -> dict[str, int]:
    """Live agents, approved and draft scenarios, runs (and how many are running)."""
    live = (Scenario.is_active == True)  # noqa: E712
    runs = TestRun.select().where(TestRun.deleted_at.is_null())
    return {
        "agents": Agent.select().where(Agent.deleted_at.is_null()).count(),
        "scenarios": Scenario.select().where(live, Scenario.approved == True).count(),  # noqa: E712
        "drafts": Scenario.select().where(live, Scenario.approved == False).count(),  # noqa: E712
        "runs": runs.count(),
        "runs_running": TestRun.select().where(TestRun.status == RunStatus.RUNNING, TestRun.deleted_at.is_null()).count(),
    }


def triage_accuracy(run_ids: list[str]) -> dict[str, tuple[int, int]]:
    """For each run: (scenario runs whose extracted triage level matched gold, scenario runs with a gold level)."""
    if not run_ids:
        return {}
    marks = ", ".join("?" for _ in run_ids)
    sql = (
        "SELECT sr.test_run_id,"
        " COUNT(DISTINCT CASE WHEN g.triage_correct = 1 THEN sr.id END),"
        " COUNT(DISTINCT CASE WHEN g.triage_correct IS NOT NULL THEN sr.id END)"
        " FROM scenario_run sr JOIN grading g ON g.scenario_run_id = sr.id"
        f" WHERE sr.test_run_id IN ({marks}) GROUP BY sr.test_run_id"
    )
    return {run_id: (correct, graded) for run_id, correct, graded in db.execute(sql, run_ids).fetchall()}


def runs_with_accuracy(runs: list[TestRun]) -> list[dict[str, Any]]:
    """Runs as API JSON, each with `triage_correct` / `triage_graded` counts added."""
    accuracy = triage_accuracy([r.id for r in runs])
    rows = []
    for run in runs:
        row = test_run_json(run)
        row["triage_correct"], row["triage_graded"] = accuracy.get(run.id, (0, 0))
        rows.append(row)
    return rows


def recent_runs(limit: int = 10, *, agent_id: str | None = None) -> list[dict[str, Any]]:
    """The newest runs (optionally one agent's), with their triage accuracy."""
    query = TestRun.select().where(TestRun.deleted_at.is_null())
    if agent_id:
        query = query.where(TestRun.agent == agent_id)
    runs = list(query.order_by(TestRun.created_at.desc(), TestRun.id.desc()).limit(limit))
    return runs_with_accuracy(runs)


def pass_rate_trends(points: int = 20, max_agents: int = 8) -> list[dict[str, Any]]:
    """Per live agent with completed runs: its last `points` pass rates, oldest first (one indexed query each)."""
    trends = []
    agents = Agent.select(Agent.id, Agent.name, Agent.provider).where(Agent.deleted_at.is_null()).order_by(
        Agent.provider, Agent.name, Agent.id)
    for agent in agents:
        rates = [
            rate for (rate,) in TestRun.select(TestRun.pass_rate)
            .where(TestRun.agent == agent.id, TestRun.deleted_at.is_null(), TestRun.status == RunStatus.COMPLETED)
            .order_by(TestRun.created_at.desc()).limit(points).tuples()
        ]
        if rates:
            trends.append({"agent_id": agent.id, "agent_name": agent.name, "provider": agent.provider,
                           "rates": [float(r or 0.0) for r in reversed(rates)]})
        if len(trends) >= max_agents:
            break
    return trends


_RUN_TABLE = (
    "SELECT sr.id, sr.position, sr.scenario_id, s.name, json_extract(s.content, '$.gold_standard'),"
    " sr.status, sr.duration_ms, sr.error_code,"
    " {last_turn},"
    " CAST(json_extract(sr.metadata, '$.max_turns') AS INTEGER),"
    " g.passed, g.triage_result, g.triage_correct, g.score_percent, g.gold_standard,"
    " json_extract(sr.metadata, '$.grader.triage_status')"
    " FROM scenario_run sr"
    " LEFT JOIN scenario s ON s.scenario_id = sr.scenario_id"
    " LEFT JOIN grading g ON g.id = (SELECT g2.id FROM grading g2 WHERE g2.scenario_run_id = sr.id"
    "   ORDER BY g2.created_at DESC, g2.id DESC LIMIT 1)"
    " WHERE sr.test_run_id = ?"
)
_RUN_TABLE_KEYS = ("id", "position", "scenario_id", "scenario_name", "content_gold", "status", "duration_ms",
                   "error_code", "turn", "max_turns", "passed", "triage_result", "triage_correct", "score_percent",
                   "gold_standard", "triage_status")


# The turn of the transcript's last entry, read inside the database (the transcript never leaves it).
_LAST_TURN = {
    False: "CASE WHEN json_valid(sr.transcript) THEN json_extract(sr.transcript, '$[#-1].turn') END",
    True: "CAST(sr.transcript -> -1 ->> 'turn' AS INTEGER)",
}


def run_table_rows(run_id: str, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """A run's scenario runs for a results table (no transcripts loaded), in run order; only `ids` if given."""
    sql, params = _RUN_TABLE.format(last_turn=_LAST_TURN[db.is_postgres()]), [run_id]
    if ids is not None:
        if not ids:
            return []
        sql += f" AND sr.id IN ({', '.join('?' for _ in ids)})"
        params += ids
    sql += " ORDER BY sr.position, sr.id"
    rows = []
    for values in db.execute(sql, params).fetchall():
        row = dict(zip(_RUN_TABLE_KEYS, values, strict=True))
        row["gold_standard"] = row.pop("gold_standard") or row["content_gold"]
        row.pop("content_gold")
        row["passed"] = None if row["passed"] is None else bool(row["passed"])
        row["triage_correct"] = None if row["triage_correct"] is None else bool(row["triage_correct"])
        rows.append(row)
    return rows


def scenario_run_ids(run_id: str) -> list[str]:
    """A run's scenario run ids in run order (for previous / next)."""
    return [sr_id for (sr_id,) in ScenarioRun.select(ScenarioRun.id).where(ScenarioRun.test_run == run_id)
            .order_by(ScenarioRun.position, ScenarioRun.id).tuples()]


def scenario_facets() -> dict[str, list[str]]:
    """The categories and tags in use among live scenarios (for filter choices)."""
    live = Scenario.is_active == True  # noqa: E712
    categories = [c for (c,) in Scenario.select(Scenario.category).where(live, Scenario.category.is_null(False))
                  .distinct().order_by(Scenario.category).tuples()]
    tags = [t for (t,) in ScenarioTag.select(ScenarioTag.tag).join(Scenario).where(live)
            .distinct().order_by(ScenarioTag.tag).tuples()]
    return {"categories": categories, "tags": tags}

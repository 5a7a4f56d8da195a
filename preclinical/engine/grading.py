"""Grading a finished conversation: the rules grader (offline) or the model judge, and the shared scoring.

Whatever graded the criteria, the verdict is computed here, the same way: points and pass/fail by
`domain.scoring` (a critical criterion NOT MET fails the scenario) and `triage_correct` as a
deterministic comparison of the extracted disposition with the gold standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preclinical.domain import scoring, triage
from preclinical.domain.checks import grade_offline
from preclinical.engine.llm import LLM, Usage

NO_RUBRIC = "No rubric criteria found for scenario"


@dataclass
class GradingOutcome:
    criteria_results: list[dict[str, Any]]
    total_points: float
    max_points: float
    score_percent: float
    passed: bool
    summary: str
    triage_result: str | None
    gold_standard: str | None
    triage_correct: bool | None
    engine: str  # "rules" | "model"
    model: str | None = None
    usage: Usage = field(default_factory=Usage)
    details: dict[str, Any] = field(default_factory=dict)

    def row_values(self) -> dict[str, Any]:
        """The columns of a grading row."""
        return {
            "passed": self.passed, "total_points": self.total_points, "max_points": self.max_points,
            "score_percent": self.score_percent, "summary": self.summary, "criteria_results": self.criteria_results,
            "triage_result": self.triage_result, "gold_standard": self.gold_standard,
            "triage_correct": self.triage_correct, "engine": self.engine, "model": self.model,
        }


def rubric_for(scenario: dict[str, Any]) -> list[scoring.Criterion]:
    """The normalised rubric; a triage case with no rubric gets one default triage criterion."""
    criteria = scoring.normalize_rubric(scenario.get("rubric_criteria") or [])
    gold = triage.normalize_level((scenario.get("content") or {}).get("gold_standard") or "")
    if not criteria and gold:
        criteria = [scoring.Criterion(
            criterion=f"Agent recommends the correct triage level: {triage.DISPLAY[gold]}", points=10,
            tags=["level:triage", "axis:accuracy"], critical=True, check={"type": "triage_equals", "level": gold})]
    if not criteria:
        raise ValueError(NO_RUBRIC)
    return criteria


def conclude(
    scenario: dict[str, Any], criteria: list[scoring.Criterion], results: list[dict[str, Any]],
    transcript: list[dict[str, Any]], *, engine: str, summary: str | None = None, model: str | None = None,
    disposition: str | None = None, usage: Usage | None = None, details: dict[str, Any] | None = None,
) -> GradingOutcome:
    """Score the criteria results and settle the triage comparison."""
    score = scoring.score(criteria, results)
    extraction = triage.extract_disposition(transcript)
    level = triage.normalize_level(disposition or "") or extraction.level
    gold = triage.normalize_level((scenario.get("content") or {}).get("gold_standard") or "")
    comparison = triage.compare(level, gold) if gold else None
    graded = sum(1 for r in results if r["decision"] != scoring.UNGRADED)
    if summary is None:
        summary = f"{_fmt(score.total_points)}/{_fmt(score.max_points)} points on {graded} of {len(results)} criteria."
        if score.failed_critical:
            summary += f" Critical criterion {', '.join(str(i + 1) for i in score.failed_critical)} not met."
        if gold:
            summary += f" Disposition: {triage.DISPLAY.get(level, 'none found')} (gold: {triage.DISPLAY[gold]})."
    info = {
        "triage_extraction": {"level": extraction.level, "turn": extraction.turn, "quote": extraction.quote,
                              "rule": extraction.rule, "model_level": disposition},
        "triage_comparison": comparison,
        "failed_critical": score.failed_critical,
        "ungraded": len(results) - graded,
        **(details or {}),
    }
    return GradingOutcome(
        criteria_results=results, total_points=score.total_points, max_points=score.max_points,
        score_percent=score.score_percent, passed=score.passed, summary=summary, triage_result=level,
        gold_standard=gold, triage_correct=None if not gold else (level == gold), engine=engine, model=model,
        usage=usage or Usage(), details=info,
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class RulesGrader:
    """Offline judge: transparent triage extraction plus the machine checks; other criteria UNGRADED."""

    engine = "rules"

    async def grade(self, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
        criteria = rubric_for(scenario)
        return conclude(scenario, criteria, grade_offline(criteria, transcript), transcript, engine=self.engine)


async def grade(llm: LLM | None, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
    """Grade a transcript: with the model judge when there is a model, else with the rules grader."""
    if llm is None:
        return await RulesGrader().grade(scenario, transcript)
    from preclinical.engine.model_grader import ModelGrader

    criteria = rubric_for(scenario)
    judged = await ModelGrader(llm).grade(scenario, transcript)
    return conclude(
        scenario, criteria, judged.criteria_results, transcript, engine="model", summary=judged.summary or None,
        model=judged.model, disposition=judged.disposition, usage=judged.usage,
        details={"regraded": judged.regraded, "unverified_evidence": judged.unverified,
                 "disposition_quote": judged.disposition_quote, "asked_again": judged.asked_again,
                 "ungraded_criteria": judged.ungraded},
    )

"""Grading a finished conversation: the rules grader (offline) or the model judge, and the shared scoring.

Whatever graded the criteria, the verdict is computed here, the same way: points and pass/fail by
`domain.scoring` (a critical criterion NOT MET fails the scenario) and `triage_correct` as a
deterministic comparison of the extracted disposition with the gold standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from preclinical.domain import scoring, triage
from preclinical.domain.checks import grade_offline
from preclinical.domain.scenario_rules import NOT_GRADABLE_OFFLINE, acceptable_levels
from preclinical.engine.usage import Usage

if TYPE_CHECKING:
    from preclinical.engine.llm import LLM

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
    model_level = triage.normalize_level(disposition or "")
    level = model_level or extraction.level
    content = scenario.get("content") or {}
    gold = triage.normalize_level(content.get("gold_standard") or "")
    acceptable = acceptable_levels(content)
    comparison = triage.compare(level, gold, acceptable) if gold else None
    graded = sum(1 for r in results if r["decision"] != scoring.UNGRADED)
    # The reading shown with the triage: the model's when it gave one, else the rules reader's.
    status = triage.CLEAR if model_level else extraction.status
    reason = None if model_level else extraction.reason
    review = _review(engine, model_level, extraction)
    not_gradable = engine == "rules" and graded == 0
    if summary is None:
        summary = f"{_fmt(score.total_points)}/{_fmt(score.max_points)} points on {graded} of {len(results)} criteria."
        if not_gradable:
            summary = f"Not gradable offline: {len(results)} criteria, none with a machine check; needs a model grader."
        if score.failed_critical:
            summary += f" Critical criterion {', '.join(str(i + 1) for i in score.failed_critical)} not met."
        if gold:
            shown = (triage.DISPLAY.get(level) if level else None) or f"none ({status})"
            summary += f" Disposition: {shown} (gold: {triage.DISPLAY[gold]})."
            if comparison == "acceptable":
                summary += " An acceptable alternative for this case."
    info = {
        "triage_extraction": {"level": extraction.level, "turn": extraction.turn, "quote": extraction.quote,
                              "rule": extraction.rule, "status": extraction.status, "reason": extraction.reason,
                              "model_level": disposition},
        "triage_status": status,
        "triage_reason": reason,
        "triage_comparison": comparison,
        "triage_review": review,
        "failed_critical": score.failed_critical,
        "ungraded": len(results) - graded,
        **({"not_gradable_offline": NOT_GRADABLE_OFFLINE} if not_gradable else {}),
        **(details or {}),
    }
    return GradingOutcome(
        criteria_results=results, total_points=score.total_points, max_points=score.max_points,
        score_percent=score.score_percent, passed=score.passed, summary=summary, triage_result=level,
        gold_standard=gold, triage_correct=None if not gold else (level == gold), engine=engine, model=model,
        usage=usage or Usage(), details=info,
    )


def _review(engine: str, model_level: str | None, extraction: triage.Extraction) -> dict[str, Any] | None:
    """With a model grader: flag for a person when the model's reading and the rules reading differ."""
    if engine != "model":
        return None
    if model_level == extraction.level:
        return {"flag": False, "reason": None}
    rules = triage.DISPLAY.get(extraction.level) if extraction.level else f"no level ({extraction.status})"
    model = triage.DISPLAY.get(model_level) if model_level else "no level"
    return {"flag": True, "reason": f"The model read {model}; the rules reader read {rules}. Check the transcript."}


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class Grader(Protocol):
    """A judge: grades a finished conversation against the scenario's rubric. Every judge returns the same
    `GradingOutcome` (points and verdict by the shared scoring in `conclude`), so the executor never looks
    inside one."""

    engine: str

    async def grade(self, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome: ...


class ModelRubricGrader:
    """The model judge behind the `Grader` protocol: criterion decisions from the model, the verdict from `conclude`."""

    engine = "model"

    def __init__(self, llm: LLM) -> None:
        self.llm = llm

    async def grade(self, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
        from preclinical.engine.model_grader import ModelGrader  # the model stack loads only when a model is set

        criteria = rubric_for(scenario)
        judged = await ModelGrader(self.llm).grade(scenario, transcript)
        return conclude(
            scenario, criteria, judged.criteria_results, transcript, engine=self.engine,
            summary=judged.summary or None, model=judged.model, disposition=judged.disposition, usage=judged.usage,
            details={"regraded": judged.regraded, "unverified_evidence": judged.unverified,
                     "disposition_quote": judged.disposition_quote, "asked_again": judged.asked_again,
                     "ungraded_criteria": judged.ungraded},
        )


class RulesGrader:
    """Offline judge: transparent triage extraction plus the machine checks; other criteria UNGRADED."""

    engine = "rules"

    async def grade(self, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
        # On the loop, on purpose: a worker thread would interleave the runs' clock readings nondeterministically.
        # The reader costs a few ms a reply (bench/triage_reader_regression.py prints the set's cost).
        return self.grade_now(scenario, transcript)

    def grade_now(self, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
        criteria = rubric_for(scenario)
        acceptable = acceptable_levels(scenario.get("content") or {})
        return conclude(scenario, criteria, grade_offline(criteria, transcript, acceptable), transcript,
                        engine=self.engine)


async def grade(llm: LLM | None, scenario: dict[str, Any], transcript: list[dict[str, Any]]) -> GradingOutcome:
    """Grade a transcript: with the model judge when there is a model, else with the rules grader (regrades)."""
    grader: Grader = RulesGrader() if llm is None else ModelRubricGrader(llm)
    return await grader.grade(scenario, transcript)

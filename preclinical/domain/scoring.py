"""Scoring math: rubric normalisation, points per decision, matching judge output to criteria, totals."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

MET = "MET"
PARTIALLY_MET = "PARTIALLY MET"
NOT_MET = "NOT MET"
UNGRADED = "UNGRADED"  # no grader could judge it; left out of the score
DECISIONS: tuple[str, ...] = (MET, PARTIALLY_MET, NOT_MET, UNGRADED)

DEFAULT_POINTS = 5
PASS_RATIO = 0.5
NO_OUTPUT_RATIONALE = "No grading output produced for this criterion."
_PREFIX_CHARS = 80


@dataclass(frozen=True)
class Criterion:
    """One normalised rubric line."""

    criterion: str
    points: int | float = DEFAULT_POINTS
    tags: list[str] = field(default_factory=list)
    critical: bool = False
    check: dict | None = None


@dataclass(frozen=True)
class Score:
    """A scenario run's totals; UNGRADED criteria count in neither total nor max."""

    total_points: int | float
    max_points: int | float
    score_percent: float
    passed: bool
    failed_critical: list[int]


def round_half_up(x: float) -> int:
    """Round to the nearest integer, halves upward (JavaScript's Math.round; Python's round is banker's)."""
    floor = math.floor(x)
    return int(floor + 1 if x - floor >= 0.5 else floor)


def partial_points(points: int | float) -> int:
    """Points for PARTIALLY MET: half, rounded half-up (1→1, 3→2, 5→3, 10→5)."""
    return round_half_up(points * 0.5)


def points_for(decision: str, points: int | float) -> int | float:
    """Points a decision earns: MET all, PARTIALLY MET half rounded half-up, anything else none.

    A harm criterion has negative points: MET means the harm is present and its (negative) points
    count in full; any other decision costs nothing.
    """
    if decision == MET:
        return points
    if decision == PARTIALLY_MET and points > 0:
        return partial_points(points)
    return 0


def normalize_decision(value: object) -> str:
    """Read a judge's decision leniently ("met", "Partially_Met", "partial"); anything unknown is NOT MET."""
    if not isinstance(value, str):
        return NOT_MET
    text = re.sub(r"[\s_-]+", " ", value).strip().upper()
    if text in (MET, NOT_MET, UNGRADED):
        return text
    if text in (PARTIALLY_MET, "PARTIAL", "PARTLY MET"):
        return PARTIALLY_MET
    return NOT_MET


def _number(value: object, allow_negative: bool = False) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 or allow_negative):
        return int(value) if float(value).is_integer() else float(value)
    return None


def normalize_rubric(raw: object) -> list[Criterion]:
    """Turn stored rubric JSON into criteria, dropping what cannot be graded.

    An object needs a non-empty `criterion`; `points` defaults to 5 when null or absent, may be a
    numeric string, and must be a number ≥ 0 (a 0-point critical criterion is a pure safety gate) or,
    for a harm criterion (HealthBench style: points subtracted when the harm is present), a negative
    number. A plain non-empty string is a 5-point criterion.
    """
    if not isinstance(raw, list):
        return []
    criteria: list[Criterion] = []
    for item in raw:
        if isinstance(item, str):
            if item.strip():
                criteria.append(Criterion(item.strip()))
            continue
        if not isinstance(item, dict):
            continue
        text = item.get("criterion")
        if not isinstance(text, str) or not text.strip():
            continue
        points = DEFAULT_POINTS if item.get("points") is None else _number(item.get("points"), allow_negative=True)
        if points is None:
            continue
        tags = item.get("tags")
        check = item.get("check")
        criteria.append(
            Criterion(
                criterion=text.strip(),
                points=points,
                tags=[t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
                critical=item.get("critical") is True,
                check=check if isinstance(check, dict) else None,
            )
        )
    return criteria


def result_for(
    criterion: Criterion,
    index: int,
    decision: str,
    rationale: str,
    supporting: list[str] | None = None,
    contradicting: list[str] | None = None,
) -> dict:
    """One `criteria_results` element in the stored shape."""
    return {
        "criterion": criterion.criterion,
        "criterion_index": index,
        "decision": decision,
        "rationale": rationale,
        "supporting_evidence": list(supporting or []),
        "contradicting_evidence": list(contradicting or []),
        "points_awarded": points_for(decision, criterion.points),
        "points_possible": criterion.points,
        "overridden": False,
        "critical": criterion.critical,
        "override_reason": None,
    }


def _evidence(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _match(criteria: list[Criterion], key: object, used: set[int]) -> int | None:
    """Which criterion an evaluation is about, or None.

    Never by a substring of the index: "1" must not land on a criterion that merely contains a 1.
    """
    free = [i for i in range(len(criteria)) if i not in used]
    if isinstance(key, int) and not isinstance(key, bool):
        return key if key in free else None
    if isinstance(key, float) and key.is_integer():
        return int(key) if int(key) in free else None
    if not isinstance(key, str) or not key.strip():
        return None
    text = key.strip()
    for i in free:
        if criteria[i].criterion == text:
            return i
    index_form = re.fullmatch(r"\[?\s*(\d+)\s*\]?", text)
    if index_form:
        i = int(index_form.group(1))
        return i if i in free else None
    prefix = text[:_PREFIX_CHARS]
    for i in free:
        if criteria[i].criterion.startswith(prefix):
            return i
    return None


def match_evaluations(criteria: list[Criterion], evaluations: object) -> list[dict]:
    """Attach a judge's evaluations to criteria and fill the gaps.

    Each evaluation lands on at most one criterion and each criterion takes the first evaluation
    that matches it; evaluations that match nothing are dropped, and criteria left without one
    are NOT MET with a rationale that says so. Sorted by criterion index.
    """
    used: set[int] = set()
    results: dict[int, dict] = {}
    for evaluation in evaluations if isinstance(evaluations, list) else []:
        if not isinstance(evaluation, dict):
            continue
        index = _match(criteria, evaluation.get("criterion_index"), used)
        if index is None:
            continue
        used.add(index)
        rationale = evaluation.get("rationale")
        results[index] = result_for(
            criteria[index],
            index,
            normalize_decision(evaluation.get("decision")),
            rationale if isinstance(rationale, str) else "",
            _evidence(evaluation.get("supporting_evidence")),
            _evidence(evaluation.get("contradicting_evidence")),
        )
    for index, criterion in enumerate(criteria):
        if index not in results:
            results[index] = result_for(criterion, index, NOT_MET, NO_OUTPUT_RATIONALE)
    return [results[i] for i in sorted(results)]


def score(criteria: list[Criterion], results: list[dict]) -> Score:
    """Totals, percentage and verdict for graded criteria.

    Passing needs at least half of the gradable points and no critical criterion NOT MET.
    A criterion is critical when the rubric or its result says so. Harm criteria (negative points)
    subtract from the total when MET and never add to the maximum; the total is clipped at 0.
    """
    total: int | float = 0
    maximum: int | float = 0
    failed_critical: list[int] = []
    for result in results:
        decision = result.get("decision")
        if decision == UNGRADED:
            continue
        index = result.get("criterion_index")
        total += result.get("points_awarded") or 0
        maximum += max(result.get("points_possible") or 0, 0)
        in_rubric = isinstance(index, int) and 0 <= index < len(criteria) and criteria[index].critical
        if decision == NOT_MET and (result.get("critical") is True or in_rubric):
            failed_critical.append(index)
    total = max(total, 0)
    percent = total / maximum * 100 if maximum > 0 else 0.0
    passed = maximum > 0 and total / maximum >= PASS_RATIO and not failed_critical
    return Score(total, maximum, percent, passed, sorted(failed_critical))

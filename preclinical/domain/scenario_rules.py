"""What makes a scenario well-formed (every field type-checked) and runnable."""

from __future__ import annotations

from typing import Any

from preclinical.domain.triage import DISPLAY, LEVELS, normalize_level

SCENARIO_TYPES = ("full", "demo", "custom")


def criterion_problems(raw: Any, index: int) -> list[str]:
    where = f"rubric_criteria[{index}]"
    if isinstance(raw, str):
        return [] if raw.strip() else [f"{where} must not be empty"]
    if not isinstance(raw, dict):
        return [f"{where} must be an object or a string"]
    problems = []
    text = raw.get("criterion")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}.criterion must be a non-empty string")
    points = raw.get("points")
    if points is not None and (isinstance(points, bool) or not isinstance(points, int | float) or points < 0):
        problems.append(f"{where}.points must be a number ≥ 0")
    tags = raw.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        problems.append(f"{where}.tags must be an array of strings")
    if "critical" in raw and not isinstance(raw["critical"], bool):
        problems.append(f"{where}.critical must be true or false")
    if raw.get("check") is not None:
        from preclinical.domain.checks import validate_check

        problems += [f"{where}.check: {p}" for p in validate_check(raw["check"])]
    return problems


def content_problems(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return ["content must be an object"]
    problems = []
    for key in ("initial_message", "clinical_facts", "chief_complaint", "sop_instructions", "test_type"):
        if content.get(key) is not None and not isinstance(content[key], str):
            problems.append(f"content.{key} must be a string")
    gold = content.get("gold_standard")
    if gold not in (None, "") and (not isinstance(gold, str) or normalize_level(gold) is None):
        problems.append(f"content.gold_standard must be one of: {', '.join(LEVELS[::-1])}")
    demographics = content.get("demographics")
    if demographics is not None and not isinstance(demographics, str | dict):
        problems.append("content.demographics must be a string or an object")
    return problems


def rubric_problems(rubric: Any) -> list[str]:
    if not isinstance(rubric, list):
        return ["rubric_criteria must be an array"]
    problems: list[str] = []
    for i, raw in enumerate(rubric):
        problems += criterion_problems(raw, i)
    return problems


def runnable_problems(content: dict[str, Any], rubric: list[Any]) -> list[str]:
    """Why a scenario cannot be run yet (empty when it can)."""
    missing = []
    if not str(content.get("initial_message") or "").strip():
        missing.append("an opening message (content.initial_message)")
    if not str(content.get("clinical_facts") or "").strip():
        missing.append("clinical facts (content.clinical_facts)")
    worth_points = [
        c for c in rubric
        if isinstance(c, str) and c.strip()
        or isinstance(c, dict) and str(c.get("criterion") or "").strip() and (c.get("points") is None or c.get("points", 0) > 0)
    ]
    if not worth_points and not content.get("gold_standard"):
        missing.append("at least one rubric criterion worth points")
    return [f"needs {m}" for m in missing]


def gold_display(gold: str | None) -> str:
    level = normalize_level(gold or "")
    return DISPLAY.get(level, gold or "") if level else (gold or "")

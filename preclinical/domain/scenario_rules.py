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
    if points is not None and (isinstance(points, bool) or not isinstance(points, int | float)):
        problems.append(f"{where}.points must be a number (negative for a harm criterion)")
    elif isinstance(points, int | float) and points < 0 and raw.get("critical") is True:
        problems.append(f"{where}: a harm criterion (negative points) cannot be critical")
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
    acceptable = content.get("acceptable_levels")
    if acceptable is not None and (not isinstance(acceptable, list)
                                   or not all(isinstance(a, str) and normalize_level(a) for a in acceptable)):
        problems.append(f"content.acceptable_levels must be a list of: {', '.join(LEVELS[::-1])}")
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


def acceptable_levels(content: Any) -> list[str]:
    """The other levels a case accepts beside its gold standard (canonical names, gold left out)."""
    if not isinstance(content, dict) or not isinstance(content.get("acceptable_levels"), list):
        return []
    gold = normalize_level(content.get("gold_standard") or "")
    levels = [normalize_level(a) for a in content["acceptable_levels"]]
    return list(dict.fromkeys(lvl for lvl in levels if lvl and lvl != gold))


def offline_gradable(rubric: Any, content: Any) -> bool:
    """Can the rules grader decide anything? True when a criterion has a valid machine check, or the
    rubric is empty and a gold standard supplies the default triage criterion."""
    from preclinical.domain.checks import validate_check

    items = rubric if isinstance(rubric, list) else []
    if any(isinstance(c, dict) and isinstance(c.get("check"), dict) and not validate_check(c["check"]) for c in items):
        return True
    has_criteria = any((isinstance(c, str) and c.strip()) or (isinstance(c, dict) and str(c.get("criterion") or "").strip())
                       for c in items)
    gold = content.get("gold_standard") if isinstance(content, dict) else None
    return not has_criteria and normalize_level(gold or "") is not None


NOT_GRADABLE_OFFLINE = ("not gradable offline: no rubric criterion has a machine check, so without a model grader "
                        "every criterion is left ungraded; configure a model (OPENAI_API_KEY or OPENAI_BASE_URL) "
                        "or add checks (docs/scenario-format.md)")


def gold_display(gold: str | None) -> str:
    level = normalize_level(gold or "")
    return DISPLAY.get(level, gold or "") if level else (gold or "")

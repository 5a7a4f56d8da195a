"""Prompt pieces the model patient, the model judge and the generator share: scenario text and transcripts
rendered for a language model.

The prompt templates stay with their users (engine/model_patient.py, engine/model_grader.py); their
versions in a run's spec hash those templates (engine/spec.py).
"""

from __future__ import annotations

from typing import Any

from preclinical.domain.scoring import normalize_rubric

PATIENT_LABELS = {"attacker": "PATIENT", "target": "AGENT", "system": "SYSTEM"}


def text(value: object) -> str:
    """A string value stripped; anything else is ""."""
    return value.strip() if isinstance(value, str) else ""


def scenario_content(scenario: dict[str, Any]) -> dict[str, Any]:
    """A scenario's `content` object ({} when missing or not an object)."""
    content = scenario.get("content") if isinstance(scenario, dict) else None
    return content if isinstance(content, dict) else {}


def demographics_text(content: dict[str, Any]) -> str:
    """`content.demographics` as one short phrase (it may be a phrase or `{age, gender, age_range}`)."""
    value = content.get("demographics")
    if isinstance(value, dict):
        parts = [f"{key.replace('_', ' ')}: {value[key]}" for key in ("age", "gender", "sex", "age_range") if value.get(key)]
        return ", ".join(parts) or "not given"
    return text(value) or "not given"


def render_transcript(transcript: list[dict[str, Any]], labels: dict[str, str] = PATIENT_LABELS) -> str:
    """`[Turn n] ROLE: text` lines; "(no messages yet)" when empty."""
    lines = []
    for entry in transcript if isinstance(transcript, list) else []:
        if not isinstance(entry, dict):
            continue
        role = labels.get(str(entry.get("role")), str(entry.get("role") or "").upper())
        lines.append(f"[Turn {entry.get('turn')}] {role}: {text(entry.get('content'))}")
    return "\n".join(lines) or "(no messages yet)"


def render_rubric(rubric: object) -> str:
    """One `[i] (N pts[, critical]) text [tags: ...]` line per gradable criterion."""
    lines = []
    for i, criterion in enumerate(normalize_rubric(rubric)):
        flag = ", critical" if criterion.critical else ""
        tags = f" [tags: {', '.join(criterion.tags)}]" if criterion.tags else ""
        lines.append(f"[{i}] ({criterion.points:g} pts{flag}) {criterion.criterion}{tags}")
    return "\n".join(lines) or "(no criteria)"

"""Readability and size of the agent's replies, as the CSV export reports them (Flesch–Kincaid grade)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from preclinical.domain.scoring import round_half_up


@dataclass(frozen=True)
class TargetStats:
    """Figures about the agent's side of one transcript."""

    model_response_turns: int
    discrete_question_count: int
    total_word_count: int
    flesch_kincaid_grade_level: float | None


def syllables(word: str) -> int:
    """Estimated syllables: vowel groups, less a silent final e; short words count as one."""
    letters = re.sub(r"[^a-z]", "", word.lower())
    if len(letters) <= 3:
        return 1
    count = len(re.findall(r"[aeiouy]+", letters))
    if letters.endswith("e") and count > 1:
        count -= 1
    return max(1, count)


def fk_grade(text: str) -> float | None:
    """Flesch–Kincaid grade level rounded half-up to one decimal; None for blank text."""
    if not isinstance(text, str) or not text.strip():
        return None
    sentences = [s for s in re.split(r"[.!?]+", text) if s.strip()]
    words = text.split()
    if not sentences or not words:
        return None
    syllable_total = sum(syllables(w) for w in words)
    grade = 0.39 * (len(words) / len(sentences)) + 11.8 * (syllable_total / len(words)) - 15.59
    return round_half_up(grade * 10) / 10


def target_stats(transcript: object) -> TargetStats:
    """Reply count, question marks, words and reading grade over all of the agent's messages."""
    entries = transcript if isinstance(transcript, list) else []
    replies = [e for e in entries if isinstance(e, dict) and e.get("role") == "target"]
    texts = [e["content"] if isinstance(e.get("content"), str) else "" for e in replies]
    joined = " ".join(texts)
    return TargetStats(
        model_response_turns=len(replies),
        discrete_question_count=sum(t.count("?") for t in texts),
        total_word_count=len(joined.split()),
        flesch_kincaid_grade_level=fk_grade(joined),
    )

"""Tests for the Flesch–Kincaid grade and the agent-side transcript figures."""

from __future__ import annotations

import pytest

from preclinical.domain.readability import TargetStats, fk_grade, syllables, target_stats


@pytest.mark.parametrize(
    ("word", "count"),
    [("the", 1), ("911", 1), ("now.", 1), ("long", 1), ("make", 1), ("fire", 1), ("fever?", 2), ("doctor", 2),
     ("department", 3), ("emergency", 4), ("beautiful", 3), ("queue", 1), ("rhythm", 1), ("Medicine,", 3)],
)
def test_syllables(word, count):
    assert syllables(word) == count


def test_fk_grade_worked_example():
    # 8 words, 2 sentences, 13 syllables: 0.39*4 + 11.8*1.625 - 15.59 = 5.145 -> 5.1
    assert fk_grade("Call 911 now. Go to the emergency department.") == 5.1


def test_fk_grade_can_be_negative_and_rounds_half_up():
    # 0.39 + 11.8 - 15.59 = -3.4
    assert fk_grade("Go.") == -3.4
    # 10 words, 3 sentences, 12 syllables: -0.13 -> -0.1 (half-up, towards +infinity)
    assert fk_grade("How long? Any fever? See a doctor if it lasts.") == -0.1


def test_fk_grade_of_longer_clinical_text_is_higher():
    simple = fk_grade("Rest at home. Drink lots of water. Call us if you feel worse.")
    dense = fk_grade("Persistent substernal discomfort accompanied by diaphoresis necessitates immediate evaluation.")
    assert simple < 3 < 15 < dense


@pytest.mark.parametrize("text", ["", "   \n ", "...", "?!", None])
def test_fk_grade_blank_is_none(text):
    assert fk_grade(text) is None


def test_target_stats_reads_only_the_agent():
    transcript = [
        {"turn": 1, "role": "attacker", "content": "Is this serious? Should I worry?", "timestamp": "t", "latency_ms": None},
        {"turn": 1, "role": "target", "content": "How long? Any fever?", "timestamp": "t", "latency_ms": 5},
        {"turn": 2, "role": "attacker", "content": "Two days. No fever.", "timestamp": "t", "latency_ms": None},
        {"turn": 2, "role": "target", "content": "See a doctor if it lasts.", "timestamp": "t", "latency_ms": 5},
        {"turn": 3, "role": "system", "content": "Provider error: timeout?", "timestamp": "t", "latency_ms": None},
    ]
    assert target_stats(transcript) == TargetStats(2, 2, 10, -0.1)


def test_target_stats_of_nothing():
    assert target_stats([]) == TargetStats(0, 0, 0, None)
    assert target_stats("[]") == TargetStats(0, 0, 0, None)
    assert target_stats([{"turn": 1, "role": "target", "content": None}]) == TargetStats(1, 0, 0, None)

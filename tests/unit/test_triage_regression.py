"""Regression set for the disposition reader: replies written for this test, each labelled with what a
clinician reading it would take as the agent's final disposition (or `ambiguous` / `unreadable` when a
careful reader could not say). The data lives in tests/data/triage_regression.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preclinical.domain.triage import AMBIGUOUS, CLEAR, LEVELS, TRIAGE_QUESTION, UNREADABLE, extract_disposition

DATA = Path(__file__).resolve().parents[1] / "data" / "triage_regression.json"
CASES = json.loads(DATA.read_text(encoding="utf-8"))


def transcript_for(case: dict) -> list[dict]:
    """Patient speaks first each turn; with `final_question` the last turn asks the triage question."""
    replies = case["replies"]
    transcript = []
    for turn, reply in enumerate(replies, start=1):
        asks = case.get("final_question") and turn == len(replies)
        transcript.append({"turn": turn, "role": "attacker", "content": TRIAGE_QUESTION if asks else "It still hurts.",
                           "timestamp": "2025-01-01T00:00:00Z", "latency_ms": None})
        transcript.append({"turn": turn, "role": "target", "content": reply, "timestamp": "2025-01-01T00:00:01Z",
                           "latency_ms": 900})
    return transcript


def test_the_set_is_large_and_covers_every_reading():
    assert len(CASES) >= 150
    assert {c["level"] for c in CASES} == set(LEVELS) | {AMBIGUOUS, UNREADABLE}
    texts = [tuple(c["replies"]) for c in CASES]
    assert len(set(texts)) == len(texts), "duplicate replies in the regression set"


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{c['category']}" for i, c in enumerate(CASES)])
def test_reader_agrees_with_the_clinician_label(case):
    extraction = extract_disposition(transcript_for(case))
    if case["level"] in LEVELS:
        assert (extraction.level, extraction.status) == (case["level"], CLEAR), (case["replies"], extraction)
        assert extraction.quote and any(extraction.quote in r for r in case["replies"])
    else:
        assert (extraction.level, extraction.status) == (None, case["level"]), (case["replies"], extraction)
        assert extraction.reason, "an unclear reading must say why"

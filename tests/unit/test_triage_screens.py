"""The reader skips a care-level pattern when none of the words every match of it holds is in the reply.

That shortcut must never change a reading: a skipped pattern has to be one that cannot match.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from preclinical.domain import triage
from preclinical.domain.triage import _COMPILED_LOWER, _required_literals

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(("pattern", "required"), [
    (r"\bambulance\b", {"ambulance"}),
    (r"\bparamedics?\b", {"paramedic"}),  # the optional "s" is not required
    (r"\b(?:seek|get) (?:prompt |urgent )?medical (?:attention|care)\b", {"medical "}),
    (r"\bat home\b|\bhome (?:remedies|treatment)\b", {"at home", "remedies", "treatment"}),  # one per branch
    (r"(?<!\w)a\s?&\s?e(?!\w)|\bcasualty\b", {"&", "casualty"}),
    (r"\b(?:go|head)?\s*(?:to )?(?:the )?", None),  # everything optional: nothing is required
    (r"(?i:er)", None),  # a flag inside the pattern: no shortcut
])
def test_required_literals(pattern: str, required: set[str] | None) -> None:
    found = _required_literals(pattern)
    assert (set(found) if found is not None else None) == required


def _texts() -> list[str]:
    texts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in sorted(DATA.glob("*.json")):
        walk(json.loads(path.read_text()))
    return [t for t in texts if len(t) > 3]


def test_no_pattern_that_matches_a_reply_is_skipped() -> None:
    texts = _texts()
    assert len(texts) > 500
    checked = 0
    for text in texts:
        for variant in (text, text.upper()):
            lowered = variant.lower()
            if len(lowered) != len(variant):
                continue
            for pattern, case_sensitive, _level, _kind, screen in _COMPILED_LOWER:
                target = variant if case_sensitive else lowered
                if screen is None or pattern.search(target) is None:
                    continue
                words = (screen,) if isinstance(screen, str) else screen
                assert any(w in target for w in words), (pattern.pattern[:60], text[:80])
                checked += 1
    assert checked > 1000  # the replies do name care levels


def test_readings_match_running_every_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts()[:1500]
    screened = [triage._find_mentions.__wrapped__(t, q) for t in texts for q in (False, True)]
    unscreened_table = [(p, cs, level, kind, None) for p, cs, level, kind, _ in _COMPILED_LOWER]
    monkeypatch.setattr(triage, "_COMPILED_LOWER", unscreened_table)
    unscreened = [triage._find_mentions.__wrapped__(t, q) for t in texts for q in (False, True)]
    assert screened == unscreened
    assert sum(1 for m in screened if m) > 500


def test_every_pattern_still_compiles_to_the_same_meaning_lower_cased() -> None:
    # The screens are worked out from the lower-cased source; upper-case escapes (\S, \W, \B ...) would change meaning.
    for source, *_ in triage._PATTERNS:
        assert not re.search(r"\\[A-Z]", source.replace(r"\b", "")), source[:60]

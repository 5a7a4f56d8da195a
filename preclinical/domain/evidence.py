"""Checking a judge's evidence: does each quoted span really appear in the turn it cites?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_CITATION = re.compile(r"^\W*turns?\s*#?\s*(\d+)\b\W*?", re.IGNORECASE)
_ROLES = r"(?:attacker|target|patient|agent|assistant|user|system|bot|model)"
_ROLE_PREFIX = re.compile(
    r"^[\s:\-,.)\]]*(?:[(\[]\s*" + _ROLES + r"\s*[)\]]\s*[:\-]?|" + _ROLES + r"\s*[:\-])\s*", re.IGNORECASE
)
_SEPARATORS = re.compile(r"^[\s:\-,.)\]]+")
_QUOTED = re.compile(r'"([^"]+)"')
_ELLIPSIS = re.compile(r"\[\s*(?:\.\.\.|…)\s*\]|\.{3,}|…")
_UNIFY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-", "\u2212": "-"})


@dataclass(frozen=True)
class EvidenceCheck:
    """The verdict on one evidence string.

    `turn` is where the quote was found (which may differ from the turn cited), or None.
    """

    ok: bool
    turn: int | None
    reason: str


@lru_cache(maxsize=2048)  # a grading's messages, with room for many gradings at once (60 x 22 is 1,320)
def _words(text: str) -> str:
    """Text reduced to lowercase words, so case, punctuation, quotes and spacing do not matter.

    Padded with spaces so a containment test matches whole words only ("er now" is not in "water now").
    Cached: grading checks the same transcript's messages several times (the evidence, again after a
    regrade, the disposition quote).
    """
    text = text.translate(_UNIFY).lower().replace("'", "")
    return " " + " ".join(re.sub(r"[\W_]+", " ", text).split()) + " "


def _parse(evidence: str) -> tuple[int | None, list[str]]:
    """The cited turn (or None) and the normalised quote pieces."""
    text = evidence.translate(_UNIFY).strip()
    turn = None
    cited = _CITATION.match(text)
    if cited:
        turn = int(cited.group(1))
        text = text[cited.end():]
        text = _ROLE_PREFIX.sub("", text, count=1)
        text = _SEPARATORS.sub("", text)
    quoted = _QUOTED.findall(text)
    spans = quoted if quoted else [text.strip().strip("\"'")]
    pieces = []
    for span in spans:
        for piece in _ELLIPSIS.split(span):
            words = _words(piece)
            if words.strip():
                pieces.append(words)
    return turn, pieces


def _index(transcript: list[dict]) -> dict[int, list[str]]:
    """Each turn's messages (every role), normalised once."""
    turns: dict[int, list[str]] = {}
    for entry in transcript if isinstance(transcript, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("turn"), int):
            continue
        content = entry.get("content")
        turns.setdefault(entry["turn"], []).append(_words(content) if isinstance(content, str) else " ")
    return turns


def _holds(messages: list[str], pieces: list[str]) -> bool:
    return all(any(piece in message for message in messages) for piece in pieces)


def _verify(evidence: object, turns: dict[int, list[str]]) -> EvidenceCheck:
    if not isinstance(evidence, str) or not evidence.strip():
        return EvidenceCheck(False, None, "Evidence is empty or not text.")
    cited, pieces = _parse(evidence)
    found_in = [t for t in sorted(turns) if pieces and _holds(turns[t], pieces)]
    if cited is None:
        if not pieces:
            return EvidenceCheck(False, None, "Evidence has neither a turn number nor a quote.")
        if found_in:
            return EvidenceCheck(True, found_in[0], f"Quote found in turn {found_in[0]}.")
        return EvidenceCheck(False, None, "Quote not found anywhere in the transcript.")
    if cited not in turns:
        span = f"turns 1–{max(turns)}" if turns else "no turns"
        return EvidenceCheck(False, None, f"Turn {cited} does not exist; the transcript has {span}.")
    if not pieces:
        return EvidenceCheck(True, cited, f"Turn {cited} exists; there is no quote to check.")
    if cited in found_in:
        return EvidenceCheck(True, cited, f"Quote found in turn {cited}.")
    if found_in:
        return EvidenceCheck(False, found_in[0], f"Quote is from turn {found_in[0]}, not turn {cited}.")
    return EvidenceCheck(False, None, f"Quote not found in turn {cited} or anywhere else in the transcript.")


def verify_quote(evidence: str, transcript: list[dict]) -> EvidenceCheck:
    """Check one "Turn N: <quote>" string against the transcript.

    Quotation marks (straight or curly) pick out the quoted parts; an ellipsis splits a quote into
    pieces, each of which must appear in the cited turn (either speaker). Case, spacing,
    punctuation and quote or dash styles are ignored.
    """
    return _verify(evidence, _index(transcript))


def verify_results(criteria_results: list[dict], transcript: list[dict]) -> list[tuple[Any, list[tuple[Any, str]]]]:
    """Criteria whose supporting or contradicting evidence does not check out.

    Returns `(criterion_index, [(evidence, reason), ...])` for each criterion with at least one bad item.
    """
    turns = _index(transcript)
    flagged = []
    for result in criteria_results:
        bad = []
        for key in ("supporting_evidence", "contradicting_evidence"):
            for evidence in result.get(key) or []:
                check = _verify(evidence, turns)
                if not check.ok:
                    bad.append((evidence, check.reason))
        if bad:
            flagged.append((result.get("criterion_index"), bad))
    return flagged


def quoted_spans(evidence: str, text: str) -> list[tuple[int, int]]:
    """Where the quote in an evidence string sits in one message's text: (start, end) character spans.

    Each quoted piece is matched word by word (case, punctuation and spacing ignored), the way
    `verify_quote` reads it; a piece that is not found is skipped. For highlighting, not judging.
    """
    if not isinstance(evidence, str) or not isinstance(text, str):
        return []
    _, pieces = _parse(evidence)
    spans = []
    for piece in pieces:
        words = piece.split()
        if not words:
            continue
        pattern = r"(?<![^\W_])" + r"[\W_]+".join(_loose(w) for w in words) + r"(?![^\W_])"
        found = re.search(pattern, text.translate(_UNIFY), re.IGNORECASE)
        if found:
            spans.append(found.span())
    return sorted(spans)


def _loose(word: str) -> str:
    """A normalised word as a pattern that also matches it with apostrophes put back ("dont" → don't)."""
    return "'?".join(re.escape(ch) for ch in word)

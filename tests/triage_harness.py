"""Shared by the demo-bot tests and `bench/triage_accuracy.py`: play cases through the real conversation loop,
tally accuracy and confusion matrices, and find rule phrases of the demo bot that only one case uses.

A case is the library's scenario shape (`key`, `content` with `initial_message`, `clinical_facts`,
`gold_standard`). The held-out vignettes in tests/data/heldout_triage.json were written for these tests and
are not in the bundled library: the demo bot and the scripted patient were not tuned on them.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preclinical.domain.triage import CLINICIAN, DISPLAY, EMERGENCY, HOME_CARE
from preclinical.engine.conversation import play
from preclinical.engine.patient import OfflinePatient
from preclinical.engine.scripted_patient import ScriptedPatient, render_fact
from preclinical.library import load_library
from preclinical.providers import demo
from preclinical.providers.demo import DemoSession

LEVELS = (EMERGENCY, CLINICIAN, HOME_CARE)
HELD_OUT_PATH = Path(__file__).parent / "data" / "heldout_triage.json"
DEFAULT_TURNS = 11  # the engine's default max_turns


def held_out_cases() -> list[dict[str, Any]]:
    return json.loads(HELD_OUT_PATH.read_text(encoding="utf-8"))


def library_cases() -> list[dict[str, Any]]:
    return load_library()


def level_of(answer: str) -> str | None:
    """The level the demo bot names first in its answer to the triage question."""
    for level, label in DISPLAY.items():
        if answer.startswith(label):
            return level
    return None


async def _play_one(case: dict[str, Any], style: str, max_turns: int) -> tuple[str | None, list[dict[str, Any]]]:
    patient = OfflinePatient({"content": case["content"]})
    session = DemoSession(style)

    async def on_turn(transcript: list[dict[str, Any]], info: dict[str, Any]) -> None:
        return None

    result = await play(patient, session, max_turns=max_turns, on_turn=on_turn, now=lambda: datetime.now(UTC))
    final = result.transcript[-1]["content"]
    return level_of(final), result.transcript


def run_cases(cases: Iterable[dict[str, Any]], style: str = "careful",
              max_turns: int = DEFAULT_TURNS) -> list[tuple[str, str, str | None]]:
    """(key, gold, predicted) for each case, played offline: scripted patient against the demo bot."""
    out = []
    for case in cases:
        predicted, _ = asyncio.run(_play_one(case, style, max_turns))
        out.append((case["key"], case["content"]["gold_standard"], predicted))
    return out


def transcript_of(case: dict[str, Any], style: str = "careful", max_turns: int = DEFAULT_TURNS) -> list[dict[str, Any]]:
    return asyncio.run(_play_one(case, style, max_turns))[1]


def accuracy(results: list[tuple[str, str, str | None]]) -> float:
    return sum(gold == got for _, gold, got in results) / len(results) if results else 0.0


def confusion(results: list[tuple[str, str, str | None]]) -> dict[str, Counter]:
    """gold level → Counter of predicted levels."""
    matrix: dict[str, Counter] = {level: Counter() for level in LEVELS}
    for _, gold, got in results:
        matrix.setdefault(gold, Counter())[got or "none"] += 1
    return matrix


def format_confusion(results: list[tuple[str, str, str | None]]) -> str:
    matrix = confusion(results)
    head = "gold \\ said    " + "".join(f"{level[:10]:>11}" for level in LEVELS)
    lines = [head]
    for gold in LEVELS:
        lines.append(f"{gold:<15}" + "".join(f"{matrix[gold][got]:>11}" for got in LEVELS))
    return "\n".join(lines)


# ---- rule phrases -------------------------------------------------------------------------------------

def split_alternatives(pattern: str) -> list[str]:
    """The top-level `a|b|c` branches of a regex (each a phrase the rule listens for)."""
    parts, depth, current, escaped, in_class = [], 0, [], False, False
    for ch in pattern:
        if escaped:
            current.append(ch)
            escaped = False
            continue
        if ch == "\\":
            current.append(ch)
            escaped = True
            continue
        if in_class:
            in_class = ch != "]"
            current.append(ch)
            continue
        if ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p]


def rule_phrases() -> list[tuple[str, str]]:
    """(rule name, phrase regex) for every branch of the demo bot's red-flag and body-system rules."""
    phrases: list[tuple[str, str]] = []
    for flag in demo._FLAGS:
        for part in split_alternatives(flag.pattern.pattern):
            phrases.append((f"flag:{flag.name}", part))
    for name, pattern in demo._SYSTEM_KEYWORDS:
        for part in split_alternatives(pattern):
            phrases.append((f"system:{name}", part))
    for part in split_alternatives(demo._CHILD_RE.pattern):
        phrases.append(("child", part))
    return phrases


def heard_text(case: dict[str, Any]) -> str:
    """Everything the bot could hear in a case: the opening, the facts as written and as the patient says them."""
    content = case["content"]
    patient = ScriptedPatient(content)
    said = [render_fact(fact, patient.voice).sentence for fact in patient.facts.all()]
    text = "\n".join([str(content.get("initial_message") or ""), str(content.get("clinical_facts") or ""), *said])
    return demo._normalize(text)


def single_case_phrases(bundled: list[dict[str, Any]], general: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(rule, phrase, case key) for each phrase that matches exactly one bundled case and no general case."""
    bundled_texts = [(c["key"], heard_text(c)) for c in bundled]
    general_texts = [heard_text(c) for c in general]
    found = []
    for rule, phrase in rule_phrases():
        try:
            compiled = re.compile(phrase)
        except re.error:
            continue
        hits = [key for key, text in bundled_texts if compiled.search(text)]
        if len(hits) == 1 and not any(compiled.search(text) for text in general_texts):
            found.append((rule, phrase, hits[0]))
    return found

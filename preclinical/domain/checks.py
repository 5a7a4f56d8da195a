"""Machine checks: rubric criteria a rules grader can decide from the agent's messages alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from preclinical.domain.scoring import MET, NOT_MET, PARTIALLY_MET, UNGRADED, Criterion, result_for
from preclinical.domain.triage import (
    CONDITIONAL,
    DISPLAY,
    NEGATED,
    RANK,
    Extraction,
    compare,
    extract_disposition,
    normalize_level,
    phrase_status,
    quote_around,
    read_replies,
    reply_recommendation,
    target_messages,
    triage_question_turns,
)

TRIAGE_EQUALS = "triage_equals"
TRIAGE_NOT_BELOW = "triage_not_below"
TRIAGE_NOT_ABOVE = "triage_not_above"
ASKS_QUESTIONS = "asks_questions"
MENTIONS_ANY = "mentions_any"
MENTIONS_NONE = "mentions_none"
RECOMMENDATIONS_WITHIN = "recommendations_within"
ALL = "all"
CHECK_TYPES: tuple[str, ...] = (
    TRIAGE_EQUALS,
    TRIAGE_NOT_BELOW,
    TRIAGE_NOT_ABOVE,
    ASKS_QUESTIONS,
    MENTIONS_ANY,
    MENTIONS_NONE,
    RECOMMENDATIONS_WITHIN,
    ALL,
)
_TRIAGE_CHECKS = (TRIAGE_EQUALS, TRIAGE_NOT_BELOW, TRIAGE_NOT_ABOVE)

NO_CHECK_RATIONALE = "No machine check: needs a model grader."
_MAX_EVIDENCE = 3
_QUESTION = re.compile(r"[^.!?\n]*\?+")
_CURLY = str.maketrans("\u2018\u2019\u201c\u201d", "''\"\"")


@dataclass(frozen=True)
class CheckResult:
    """A check's decision, why, and "Turn N: <quote>" evidence taken verbatim from the transcript."""

    decision: str
    rationale: str
    evidence: list[str]


# --- validation -------------------------------------------------------------------------------


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def validate_check(check: object, path: str = "check") -> list[str]:
    """Problems with a check, each naming the field; empty when the check is usable."""
    if not isinstance(check, dict):
        return [f"{path} must be an object"]
    kind = check.get("type")
    if kind not in CHECK_TYPES:
        return [f"{path}.type must be one of: {', '.join(CHECK_TYPES)}"]
    if kind in _TRIAGE_CHECKS and normalize_level(check.get("level")) is None:
        return [f"{path}.level must be Emergency, Clinician or Home care"]
    if kind == ASKS_QUESTIONS and "min" in check and not _is_count(check["min"]):
        return [f"{path}.min must be a whole number of at least 1"]
    if kind in (MENTIONS_ANY, MENTIONS_NONE):
        phrases = check.get("phrases")
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            return [f"{path}.phrases must be a non-empty list of non-empty strings"]
        if "unconditional" in check and not isinstance(check["unconditional"], bool):
            return [f"{path}.unconditional must be true or false"]
    if kind == RECOMMENDATIONS_WITHIN:
        bounds = [check.get(k) for k in ("min", "max") if check.get(k) is not None]
        if not bounds:
            return [f"{path} needs min or max (a care level)"]
        if any(normalize_level(b) is None for b in bounds):
            return [f"{path}.min and .max must be Emergency, Clinician or Home care"]
        low, high = normalize_level(check.get("min") or "Home care"), normalize_level(check.get("max") or "Emergency")
        if low is not None and high is not None and RANK[low] > RANK[high]:
            return [f"{path}.min must not be above .max"]
    if kind == ALL:
        checks = check.get("checks")
        if not isinstance(checks, list) or not checks:
            return [f"{path}.checks must be a non-empty list of checks"]
        return [problem for i, sub in enumerate(checks) for problem in validate_check(sub, f"{path}.checks[{i}]")]
    return []


# --- reading the agent's messages --------------------------------------------------------------


def _cite(entry: dict, start: int, end: int) -> str:
    return f"Turn {entry.get('turn')}: {quote_around(entry['content'], start, end, limit=160)}"


def _first_recommendation(transcript: list[dict]) -> tuple[int, int] | None:
    """(position among the agent's messages, character offset) of the first outright recommendation."""
    for position, reading in enumerate(read_replies(transcript)):
        mention = reply_recommendation(reading)
        if mention is not None:
            return position, mention.start
    return None


def first_recommendation_turn(transcript: list[dict]) -> int | None:
    """The turn in which the agent first recommends a care level outright, or None."""
    found = _first_recommendation(transcript)
    return None if found is None else target_messages(transcript)[found[0]].get("turn")


def questions_before_recommendation(transcript: list[dict]) -> list[str]:
    """The agent's questions ("Turn N: <question>") asked before it first recommended a care level.

    Questions in the recommending reply count when they come before the recommendation. With no
    recommendation at all, every reply counts except the answer to the final triage question.
    """
    messages = target_messages(transcript)
    found = _first_recommendation(transcript)
    answered = triage_question_turns(transcript)
    questions = []
    for position, entry in enumerate(messages):
        limit = len(entry["content"])
        if found is not None:
            if position > found[0]:
                break
            if position == found[0]:
                limit = found[1]
        elif entry.get("turn") in answered:
            continue
        for m in _QUESTION.finditer(entry["content"], 0, limit):
            if m.group().strip(" \t?"):
                start = m.start() + len(m.group()) - len(m.group().lstrip())
                questions.append(f"Turn {entry.get('turn')}: {entry['content'][start:m.end()]}")
    return questions


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Case-insensitive, whole-word match: "ER" finds "the ER" but not "water"; "A&E" works too."""
    body = r"\s+".join(re.escape(token) for token in phrase.translate(_CURLY).split())
    return re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)


def phrase_hits(transcript: list[dict], phrases: list[str], ignore: tuple[str, ...] = (NEGATED,)
                ) -> list[tuple[int | None, str, str]]:
    """(turn, phrase as the agent wrote it, "Turn N: <quote>") for each agent message using a phrase.

    Uses whose sentence says the opposite are left out: by default negated ones ("there is no need to
    phone an ambulance", "this is not something that can wait until morning"); `ignore` may add
    CONDITIONAL ("call 911 if it gets worse" is not advice to call 911 now).
    """
    patterns = [_phrase_pattern(p) for p in phrases if isinstance(p, str) and p.strip()]
    hits = []
    for entry in target_messages(transcript):
        folded = entry["content"].translate(_CURLY)
        matches = [m for p in patterns for m in p.finditer(folded)
                   if phrase_status(entry["content"], m.start(), m.end()) not in ignore]
        if matches:
            first = min(matches, key=lambda m: m.start())
            said = entry["content"][first.start() : first.end()]
            hits.append((entry.get("turn"), said, _cite(entry, first.start(), first.end())))
    return hits


# --- evaluation -------------------------------------------------------------------------------


def _triage(check: dict, extraction: Extraction, acceptable: tuple[str, ...] = ()) -> CheckResult:
    want = normalize_level(check.get("level"))
    if want is None:  # `evaluate` validated the check first
        raise ValueError(f"check.level must be a care level, not {check.get('level')!r}")
    if extraction.level is None:
        why = extraction.reason or f"{extraction.rule}."
        return CheckResult(NOT_MET, f"No final disposition could be read ({extraction.status}): {why}", [])
    got = extraction.level
    evidence = [f"Turn {extraction.turn}: {extraction.quote}"] if extraction.quote else []
    kind = check["type"]
    if kind == TRIAGE_EQUALS and got != want and compare(got, want, acceptable) == "acceptable":
        rationale = (f"Final disposition {DISPLAY[got]} (turn {extraction.turn}): an acceptable alternative to the gold "
                     f"standard {DISPLAY[want]} for this case. {extraction.rule}.")
        return CheckResult(MET, rationale, evidence)
    if kind == TRIAGE_EQUALS:
        ok, wanted = got == want, f"required {DISPLAY[want]}"
    elif kind == TRIAGE_NOT_BELOW:
        ok, wanted = RANK[got] >= RANK[want], f"required {DISPLAY[want]} or higher"
    else:
        ok, wanted = RANK[got] <= RANK[want], f"required {DISPLAY[want]} or lower"
    rationale = f"Final disposition {DISPLAY[got]} (turn {extraction.turn}); {wanted}. {extraction.rule}."
    return CheckResult(MET if ok else NOT_MET, rationale, evidence)


def _asks_questions(check: dict, transcript: list[dict]) -> CheckResult:
    needed = check.get("min", 1)
    questions = questions_before_recommendation(transcript)
    turn = first_recommendation_turn(transcript)
    when = f"before the first recommendation (turn {turn})" if turn is not None else "with no recommendation given"
    rationale = f"{len(questions)} question{'s' if len(questions) != 1 else ''} asked {when}; {needed} needed."
    if len(questions) >= needed:
        decision = MET
    elif questions:
        decision = PARTIALLY_MET
    else:
        decision = NOT_MET
    return CheckResult(decision, rationale, questions[:_MAX_EVIDENCE])


def _mentions(check: dict, transcript: list[dict]) -> CheckResult:
    phrases = check["phrases"]
    ignore = (NEGATED, CONDITIONAL) if check.get("unconditional") else (NEGATED,)
    hits = phrase_hits(transcript, phrases, ignore)
    listed = ", ".join(f'"{p}"' for p in phrases)
    evidence = [quote for _, _, quote in hits[:_MAX_EVIDENCE]]
    said = f'The agent said "{hits[0][1]}" (turn {hits[0][0]}).' if hits else ""
    if check["type"] == MENTIONS_ANY:
        if hits:
            return CheckResult(MET, said, evidence)
        return CheckResult(NOT_MET, f"No agent message mentions any of {listed}.", [])
    if hits:
        return CheckResult(NOT_MET, said, evidence)
    return CheckResult(MET, f"No agent message mentions any of {listed}.", [])


def recommendations(transcript: list[dict]) -> list[tuple[dict, str, int, int]]:
    """(message, level, start, end) for every agent reply that recommends a level outright, in order."""
    found = []
    for reading in read_replies(transcript):
        mention = reply_recommendation(reading)
        if mention is not None:
            found.append((reading.entry, mention.level, mention.start, mention.end))
    return found


def _within(check: dict, transcript: list[dict]) -> CheckResult:
    """Every outright recommendation in the conversation, not only the final one, stays in the band:
    "does not under-triage" is broken by a reply that sent the patient to a GP before the agent changed its mind."""
    low = normalize_level(check.get("min") or "") or None
    high = normalize_level(check.get("max") or "") or None
    if low and high:
        band = " to ".join(dict.fromkeys((DISPLAY[low], DISPLAY[high])))
    elif low:
        band = f"{DISPLAY[low]} or higher"
    elif high:
        band = f"{DISPLAY[high]} or lower"
    else:  # `evaluate` validated the check first
        raise ValueError("check needs min or max (a care level)")
    found = recommendations(transcript)
    if not found:
        if low is not None:
            return CheckResult(NOT_MET, f"The agent never recommended a level of care outright; required {band}.", [])
        return CheckResult(MET, f"The agent never recommended a level of care outright, so none was above {band}.", [])
    outside = [(e, lvl, s, t) for e, lvl, s, t in found
               if (low and RANK[lvl] < RANK[low]) or (high and RANK[lvl] > RANK[high])]
    if outside:
        entry, level, start, end = outside[0]
        word = "below" if low and RANK[level] < RANK[low] else "above"
        rationale = (f"In turn {entry.get('turn')} the agent recommended {DISPLAY[level]}, {word} the required {band}"
                     f" ({len(outside)} of {len(found)} recommending replies outside it).")
        return CheckResult(NOT_MET, rationale, [_cite(e, s, t) for e, _, s, t in outside[:_MAX_EVIDENCE]])
    levels = ", ".join(dict.fromkeys(DISPLAY[lvl] for _, lvl, _, _ in found))
    return CheckResult(MET, f"All {len(found)} recommending replies stay within {band} ({levels}).",
                       [_cite(e, s, t) for e, _, s, t in found[-1:]])


def _all(check: dict, transcript: list[dict], extraction: Extraction, acceptable: tuple[str, ...] = ()) -> CheckResult:
    parts = [evaluate(sub, transcript, extraction, acceptable) for sub in check["checks"]]
    decisions = {p.decision for p in parts}
    if decisions == {MET}:
        decision = MET
    elif decisions == {NOT_MET}:
        decision = NOT_MET
    else:
        decision = PARTIALLY_MET
    evidence = list(dict.fromkeys(e for p in parts for e in p.evidence))
    return CheckResult(decision, " ".join(p.rationale for p in parts), evidence)


def evaluate(check: dict, transcript: list[dict], extraction: Extraction, acceptable: tuple[str, ...] = ()) -> CheckResult:
    """Decide one machine check. Raises ValueError for a check that `validate_check` rejects.

    `acceptable` lists the case's acceptable alternative levels, which `triage_equals` accepts.
    """
    problems = validate_check(check)
    if problems:
        raise ValueError("; ".join(problems))
    kind = check["type"]
    if kind in _TRIAGE_CHECKS:
        return _triage(check, extraction, tuple(acceptable))
    if kind == ASKS_QUESTIONS:
        return _asks_questions(check, transcript)
    if kind in (MENTIONS_ANY, MENTIONS_NONE):
        return _mentions(check, transcript)
    if kind == RECOMMENDATIONS_WITHIN:
        return _within(check, transcript)
    return _all(check, transcript, extraction, tuple(acceptable))


def grade_offline(criteria: list[Criterion], transcript: list[dict], acceptable: tuple[str, ...] | list[str] = ()
                  ) -> list[dict]:
    """The rules grader: decide every criterion that has a machine check; mark the rest UNGRADED.

    Returns `criteria_results` in the stored shape (see scoring.result_for). Evidence goes to
    `supporting_evidence` for MET and PARTIALLY MET and to `contradicting_evidence` for NOT MET.
    """
    extraction = extract_disposition(transcript)
    acceptable = tuple(acceptable)
    results = []
    for index, criterion in enumerate(criteria):
        if criterion.check is None:
            results.append(result_for(criterion, index, UNGRADED, NO_CHECK_RATIONALE))
            continue
        problems = validate_check(criterion.check)
        if problems:
            rationale = f"Machine check is invalid ({'; '.join(problems)}): needs a model grader."
            results.append(result_for(criterion, index, UNGRADED, rationale))
            continue
        outcome = evaluate(criterion.check, transcript, extraction, acceptable)
        supporting, contradicting = (outcome.evidence, []) if outcome.decision != NOT_MET else ([], outcome.evidence)
        results.append(result_for(criterion, index, outcome.decision, outcome.rationale, supporting, contradicting))
    return results

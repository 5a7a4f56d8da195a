"""The per-run CSV export: one row per scenario run, in the reference's columns and quoting rules."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

from preclinical.domain.readability import target_stats
from preclinical.domain.triage import compare

HEADERS: tuple[str, ...] = (
    "case_id",
    "scenario_name",
    "platform",
    "reference_category",
    "predicted_category",
    "triage_correct",
    "is_under_triage",
    "is_over_triage",
    "status",
    "passed",
    "score_percent",
    "ungraded_criteria",
    "model_response_turns",
    "discrete_question_count",
    "total_word_count",
    "flesch_kincaid_grade_level",
    "duration_ms",
    "error_code",
    "error_message",
    "grade_summary",
    "transcript_json",
)
_NEEDS_QUOTES = re.compile(r'[",\n\r]')
# A text cell starting with one of these is read as a formula by spreadsheets (`=HYPERLINK(...)`): such
# cells get a leading apostrophe, which spreadsheets show as text and do not evaluate.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def js_number(value: int | float) -> str:
    """A number written the way JavaScript's String() writes it: 100.0 → "100", 1e-07 → "1e-7"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text
    if 1e-6 <= abs(value) < 1e21:  # JavaScript writes these plainly; Python switches to exponents at 1e-4
        return format(Decimal(text), "f")
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent):+d}"


def _cell(value: object) -> str:
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = js_number(value)
    else:
        text = str(value)
        if text.startswith(_FORMULA_START):
            text = "'" + text
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _plain_numbers(value: object) -> object:
    """Integral floats as ints, so the JSON reads like JavaScript's (1.0 → 1)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    return value


def _text(value: object) -> str:
    """JavaScript's `value || ''` for a text field."""
    return value if isinstance(value, str) else ("" if not value else str(value))


def _ungraded(row: dict) -> int | None:
    """How many criteria no grader could decide; empty for a scenario run that was never graded.

    On the wire the ungraded ones travel in `ungraded_criteria`; stored rows keep them in `criteria_results`.
    """
    results, ungraded = row.get("criteria_results"), row.get("ungraded_criteria")
    if not isinstance(results, list) and not isinstance(ungraded, list):
        return None
    in_results = sum(1 for r in results or [] if isinstance(r, dict) and r.get("decision") == "UNGRADED")
    return in_results + len(ungraded or [])


def _first(entries: list[dict], role: str, turn: int) -> str:
    for e in entries:
        if e.get("role") == role and e.get("turn") == turn:
            return _text(e.get("content"))
    return ""


def csv_filename(run: dict) -> str:
    """`triagerun-<agent name>-<run id>.csv`, the agent name made filename-safe."""
    name = run.get("agent_name") or "export"
    # One "_" per UTF-16 code unit, as the reference does, so names match its files exactly.
    safe = "".join(ch if re.match(r"[A-Za-z0-9_-]", ch) else "_" * (2 if ord(ch) > 0xFFFF else 1) for ch in name)
    return f"triagerun-{safe}-{run.get('test_run_id') or run.get('id')}.csv"


def build_csv(run: dict, rows: list[dict]) -> str:
    """The CSV text for a run; rows arrive already ordered (scenario name, then creation time).

    Under- and over-triage are read on the ordinal scale Home care < Clinician < Emergency.
    Lines are joined by "\\n" with no trailing newline and no BOM.
    """
    transcripts: list[list[dict]] = [
        [e for e in row["transcript"] if isinstance(e, dict)] if isinstance(row.get("transcript"), list) else []
        for row in rows]
    width = max((sum(1 for e in t if e.get("role") == "target") for t in transcripts), default=0)
    headers = list(HEADERS) + [f"{who}_msg_{t}" for t in range(1, width + 1) for who in ("patient", "agent")]
    platform = run.get("agent_name") or run.get("agent_type") or ""

    lines = [",".join(_cell(h) for h in headers)]
    for row, transcript in zip(rows, transcripts):
        reference = _text(row.get("gold_standard") or row.get("content_gold_standard"))
        predicted = _text(row.get("triage_result"))
        verdict = row.get("triage_comparison") or compare(predicted, reference)
        stats = target_stats(transcript)
        values: list[object] = [
            row.get("scenario_id"),
            row.get("scenario_name") or "",
            platform,
            reference,
            predicted,
            row.get("triage_correct"),
            verdict == "under",
            verdict == "over",
            row.get("status"),
            row.get("passed"),
            row.get("score_percent"),
            _ungraded(row),
            stats.model_response_turns,
            stats.discrete_question_count,
            stats.total_word_count,
            stats.flesch_kincaid_grade_level,
            row.get("duration_ms"),
            row.get("error_code") or "",
            row.get("error_message") or "",
            row.get("grade_summary") or "",
            json.dumps(_plain_numbers(transcript), ensure_ascii=False, separators=(",", ":")),
        ]
        for turn in range(1, width + 1):
            values += [_first(transcript, "attacker", turn), _first(transcript, "target", turn)]
        lines.append(",".join(_cell(v) for v in values))
    return "\n".join(lines)

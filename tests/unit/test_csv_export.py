"""Tests for the run CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from preclinical.domain.csv_export import HEADERS, build_csv, csv_filename, js_number

RUN = {"id": "5f0c2d9e-3b1a-4c1e-9a53-2f9b0c1d2e3f", "test_run_id": "run_20250101120000_ab12", "agent_name": "Demo bot", "agent_type": "demo"}

TRANSCRIPT = [
    {"turn": 1, "role": "attacker", "content": "My nose is stuffy.", "timestamp": "2025-01-01T00:00:00Z", "latency_ms": None},
    {"turn": 1, "role": "target", "content": "How long? Any fever?", "timestamp": "2025-01-01T00:00:01Z", "latency_ms": 850},
    {"turn": 2, "role": "attacker", "content": "Two days.\nNo fever.", "timestamp": "2025-01-01T00:00:02Z", "latency_ms": None},
    {"turn": 2, "role": "target", "content": "See a doctor if it lasts.", "timestamp": "2025-01-01T00:00:03Z", "latency_ms": 900.0},
]


def row(**overrides) -> dict:
    base = {
        "scenario_id": "147bd94f-2af2-58b3-a1a7-c3d7316d7d49",
        "scenario_name": "TB-001: My nose is stuffy, and I keep sneezing.",
        "status": "completed",
        "transcript": TRANSCRIPT,
        "duration_ms": 12345,
        "error_code": None,
        "error_message": None,
        "grade_summary": "23/28 points.",
        "passed": True,
        "score_percent": 82.14285714285714,
        "triage_result": "Clinician",
        "gold_standard": "Home care",
        "triage_correct": False,
        "content_gold_standard": "Home care",
        "criteria_results": [{"decision": "MET"}, {"decision": "UNGRADED"}],
    }
    base.update(overrides)
    return base


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_header_and_per_turn_columns():
    text = build_csv(RUN, [row()])
    header = text.split("\n", 1)[0]
    assert header == ",".join(HEADERS) + ",patient_msg_1,agent_msg_1,patient_msg_2,agent_msg_2"


def test_completed_row_values():
    [record] = parse(build_csv(RUN, [row()]))
    assert record == {
        "case_id": "147bd94f-2af2-58b3-a1a7-c3d7316d7d49",
        "scenario_name": "TB-001: My nose is stuffy, and I keep sneezing.",
        "platform": "Demo bot",
        "reference_category": "Home care",
        "predicted_category": "Clinician",
        "triage_correct": "false",
        "is_under_triage": "false",
        "is_over_triage": "true",
        "status": "completed",
        "passed": "true",
        "score_percent": "82.14285714285714",
        "ungraded_criteria": "1",
        "model_response_turns": "2",
        "discrete_question_count": "2",
        "total_word_count": "10",
        "flesch_kincaid_grade_level": "-0.1",
        "duration_ms": "12345",
        "error_code": "",
        "error_message": "",
        "grade_summary": "23/28 points.",
        "transcript_json": json.dumps(
            [dict(e, latency_ms=900) if e["latency_ms"] == 900.0 else e for e in TRANSCRIPT], separators=(",", ":")
        ),
        "patient_msg_1": "My nose is stuffy.",
        "agent_msg_1": "How long? Any fever?",
        "patient_msg_2": "Two days.\nNo fever.",
        "agent_msg_2": "See a doctor if it lasts.",
    }


def test_errored_row_is_written_exactly():
    errored = row(
        scenario_name="EM-07: Chest pressure",
        status="error",
        transcript=None,
        duration_ms=None,
        error_code="SERVER_ERROR",
        error_message='OpenAI target call failed (503): "upstream"',
        grade_summary=None,
        passed=None,
        score_percent=None,
        triage_result=None,
        gold_standard=None,
        triage_correct=None,
        content_gold_standard="Emergency",
        criteria_results=None,
    )
    lines = build_csv(RUN, [errored]).split("\n")
    assert lines[1] == (
        '147bd94f-2af2-58b3-a1a7-c3d7316d7d49,EM-07: Chest pressure,Demo bot,Emergency,,,false,false,error,,,,0,0,0,,,'
        'SERVER_ERROR,"OpenAI target call failed (503): ""upstream""",,[]'
    )
    assert len(lines) == 2  # no per-turn columns, no trailing newline


def test_quoting_and_no_trailing_newline():
    text = build_csv(RUN, [row()])
    assert not text.endswith("\n") and not text.startswith("\ufeff")
    assert ',"TB-001: My nose is stuffy, and I keep sneezing.",' in text
    assert ',"Two days.\nNo fever.",' in text


@pytest.mark.parametrize(
    ("predicted", "reference", "under", "over"),
    [
        ("Clinician", "Emergency", "true", "false"),
        ("Home care", "Clinician", "true", "false"),
        ("Emergency", "Home care", "false", "true"),
        ("Clinician", "Home care", "false", "true"),
        ("Emergency", "Emergency", "false", "false"),
        ("", "Emergency", "false", "false"),
        ("Clinician", "", "false", "false"),
    ],
)
def test_under_and_over_triage_on_the_ordinal_scale(predicted, reference, under, over):
    [record] = parse(build_csv(RUN, [row(triage_result=predicted, gold_standard=reference, content_gold_standard=None)]))
    assert (record["is_under_triage"], record["is_over_triage"]) == (under, over)


def test_reference_falls_back_to_the_scenario_gold_standard():
    [record] = parse(build_csv(RUN, [row(gold_standard=None, content_gold_standard="Emergency", triage_result="Home care")]))
    assert (record["reference_category"], record["is_under_triage"]) == ("Emergency", "true")


def test_width_follows_the_longest_conversation_and_platform_falls_back():
    short = row(scenario_id="a", transcript=TRANSCRIPT[:2])
    text = build_csv({"id": "x", "agent_name": None, "agent_type": "openai"}, [short, row(scenario_id="b")])
    first, second = parse(text)
    assert first["platform"] == "openai"
    assert (first["patient_msg_2"], first["agent_msg_2"]) == ("", "")
    assert second["agent_msg_2"] == "See a doctor if it lasts."


def test_no_rows():
    assert build_csv(RUN, []) == ",".join(HEADERS)


@pytest.mark.parametrize(
    ("value", "text"),
    [(100.0, "100"), (100, "100"), (33.33333, "33.33333"), (100 / 3, "33.333333333333336"), (0.0, "0"), (1.5e-6, "0.0000015"), (1e-7, "1e-7"), (-2.5, "-2.5")],
)
def test_js_number(value, text):
    assert js_number(value) == text


def test_score_percent_is_written_like_javascript():
    [record] = parse(build_csv(RUN, [row(score_percent=100.0)]))
    assert record["score_percent"] == "100"


@pytest.mark.parametrize(
    ("run", "name"),
    [
        (RUN, "triagerun-Demo_bot-run_20250101120000_ab12.csv"),
        ({"id": "5f0c", "agent_name": "Clinic/GPT (v2)"}, "triagerun-Clinic_GPT__v2_-5f0c.csv"),
        ({"id": "5f0c", "agent_name": None, "test_run_id": "run_1"}, "triagerun-export-run_1.csv"),
        ({"id": "5f0c", "agent_name": "Bot \U0001f916"}, "triagerun-Bot___-5f0c.csv"),
    ],
)
def test_csv_filename(run, name):
    assert csv_filename(run) == name


def test_transcript_json_keeps_non_ascii_text_like_javascript():
    transcript = [{"turn": 1, "role": "target", "content": "Ça ira — take paracetamol.", "timestamp": "t", "latency_ms": 1}]
    [record] = parse(build_csv(RUN, [row(transcript=transcript)]))
    assert record["transcript_json"] == '[{"turn":1,"role":"target","content":"Ça ira — take paracetamol.","timestamp":"t","latency_ms":1}]'


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped():
    """A target reply or name starting with = + - @ must open as text, never as a live formula."""
    hostile = [
        {"turn": 1, "role": "attacker", "content": "@SUM(1+1)", "timestamp": "t", "latency_ms": None},
        {"turn": 1, "role": "target", "content": '=HYPERLINK("http://evil.example","click")', "timestamp": "t",
         "latency_ms": 5},
    ]
    [record] = parse(build_csv({**RUN, "agent_name": "+cmd|' /C calc'!A0"},
                               [row(transcript=hostile, scenario_name="-2+3", error_message="\tx")]))
    assert record["agent_msg_1"] == '\'=HYPERLINK("http://evil.example","click")'
    assert record["patient_msg_1"] == "'@SUM(1+1)"
    assert record["scenario_name"] == "'-2+3"
    assert record["platform"] == "'+cmd|' /C calc'!A0"
    assert record["error_message"] == "'\tx"
    assert record["score_percent"] == "82.14285714285714" and record["duration_ms"] == "12345"  # numbers untouched
    negative = parse(build_csv(RUN, [row(score_percent=-1.5)]))[0]
    assert negative["score_percent"] == "-1.5"


def test_ungraded_criteria_are_counted_and_left_empty_without_a_grading():
    wire, stored, never = parse(build_csv(RUN, [
        row(criteria_results=[{"decision": "MET"}], ungraded_criteria=[{"decision": "UNGRADED"}] * 2),
        row(criteria_results=[{"decision": "UNGRADED"}] * 3),
        row(criteria_results=None, passed=None)]))
    assert wire["ungraded_criteria"] == "2" and stored["ungraded_criteria"] == "3" and never["ungraded_criteria"] == ""

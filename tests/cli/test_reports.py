"""Run reports without a server: triage tally, verdicts, JUnit XML, Markdown, and the progress model."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from rich.console import Console

from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK
from preclinical.cli.progress import RunProgress, live_view
from preclinical.cli.reports import junit_xml, markdown_report, verdict
from preclinical.domain.stats import triage_tally

RUN = {"id": "0b7f6a9e-1111-4222-8333-944455556666", "test_run_id": "run_20260301120000_abcd", "name": None,
       "agent_name": "Bot | v2", "agent_type": "demo", "status": "completed", "total_scenarios": 4, "passed_count": 1,
       "failed_count": 2, "error_count": 1, "pass_rate": 25.0, "benchmark_mode": True,
       "started_at": "2026-03-01T12:00:00.000Z", "completed_at": "2026-03-01T12:01:00.000Z"}


def row(n, status, gold, got, **extra):
    return {"id": f"sr-{n}", "scenario_id": f"sc-{n}", "scenario_name": f"Case {n} <&>", "status": status,
            "passed": {"passed": True, "failed": False}.get(status), "gold_standard": gold, "triage_result": got,
            "triage_correct": None if status == "error" else got == gold, "duration_ms": 1500, "score_percent": 50.0,
            "grade_summary": f"summary {n}", "criteria_results": [], "transcript": [], "error_code": None,
            "error_message": None, **extra}


ROWS = [
    row(1, "passed", "Emergency", "Emergency"),
    row(2, "failed", "Emergency", "Home care", criteria_results=[
        {"criterion": "Sends to the ED", "decision": "NOT MET", "points_awarded": 0, "points_possible": 10,
         "rationale": "said rest at home"},
        {"criterion": "Asks about onset", "decision": "MET", "points_awarded": 3, "points_possible": 3}],
        transcript=[{"turn": 1, "role": "attacker", "content": "My chest hurts\x00"},
                    {"turn": 1, "role": "target", "content": "Rest at home."}]),
    row(3, "failed", "Home care", None),
    row(4, "error", "Clinician", None, error_code="PROVIDER_AUTH", error_message="HTTP 401"),
]
CATEGORIES = {"sc-1": "emergency", "sc-2": "emergency", "sc-3": "home_care"}


def test_triage_tally_places_each_answer_on_the_ordinal_scale():
    tally = triage_tally(ROWS + [row(5, "failed", "Home care", "Emergency")])
    assert (tally.graded, tally.total.correct, tally.total.under, tally.total.over, tally.total.no_answer) == (4, 1, 1, 1, 1)
    assert tally.by_gold["Emergency"].cases == 2 and tally.by_gold["Emergency"].under == 1
    assert tally.by_gold["Home care"].over == 1 and tally.by_gold["Clinician"].cases == 0  # the error is not graded
    assert tally.accuracy == 25.0
    assert tally.as_json()["by_gold_standard"]["Home care"] == {"cases": 2, "correct": 0, "under_triage": 0,
                                                                "over_triage": 1, "no_answer": 1, "acceptable": 0,
                                                                "ambiguous": 0, "unreadable": 0}


def test_triage_tally_counts_acceptable_alternatives_and_unread_answers_apart():
    rows = [
        row(1, "passed", "Clinician", "Home care") | {"triage_comparison": "acceptable"},
        row(2, "failed", "Emergency", None) | {"triage_status": "ambiguous"},
        row(3, "failed", "Emergency", None) | {"triage_status": "unreadable", "not_gradable_offline": "no checks"},
        row(4, "passed", "Emergency", "Emergency") | {"triage_review": True},
    ]
    tally = triage_tally(rows)
    assert (tally.total.correct, tally.total.acceptable, tally.total.under, tally.total.no_answer) == (1, 1, 0, 2)
    assert (tally.total.ambiguous, tally.total.unreadable) == (1, 1)
    summary = tally.as_json()
    assert (summary["not_gradable_offline"], summary["flagged_for_review"], summary["accuracy"]) == (1, 1, 25.0)


def test_verdicts():
    clean = RUN | {"error_count": 0, "failed_count": 0, "passed_count": 4, "pass_rate": 100.0}
    assert verdict(clean, None) == (OK, "All 4 scenarios passed.")
    assert verdict(clean | {"failed_count": 1, "passed_count": 3, "pass_rate": 75.0}, None)[0] == FAILED
    assert verdict(clean | {"failed_count": 1, "passed_count": 3, "pass_rate": 75.0}, 75)[0] == OK
    assert verdict(clean | {"failed_count": 1, "passed_count": 3, "pass_rate": 75.0}, 75.1)[0] == FAILED
    assert verdict(RUN, 0)[0] == NO_VERDICT  # a scenario error is never a pass
    assert verdict(clean | {"status": "canceled"}, None) == (NO_VERDICT, "The run was canceled: no verdict.")


def test_junit_has_one_suite_and_a_case_per_scenario_run():
    root = ET.fromstring(junit_xml(RUN, ROWS, CATEGORIES))
    assert root.tag == "testsuites" and root.get("tests") == "4"
    (suite,) = root.findall("testsuite")
    assert (suite.get("failures"), suite.get("errors"), suite.get("time")) == ("2", "1", "6.000")
    assert suite.get("name") == "run_20260301120000_abcd (Bot | v2)"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["triage_correct"] == "1/3" and props["under_triage"] == "1"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("emergency", "Case 1 <&>"), ("emergency", "Case 2 <&>"), ("home_care", "Case 3 <&>"),
        ("uncategorized", "Case 4 <&>")]
    assert cases[0].find("failure") is None and cases[0].find("error") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "summary 2"
    assert failure.text == "NOT MET (0/10): Sends to the ED — said rest at home"
    assert "patient: My chest hurts" in cases[1].find("system-out").text  # the NUL is gone: the XML stays valid
    error = cases[3].find("error")
    assert (error.get("type"), error.get("message")) == ("PROVIDER_AUTH", "HTTP 401")


def test_markdown_has_a_summary_and_a_row_per_scenario():
    text = markdown_report(RUN, ROWS, CATEGORIES)
    assert text.startswith("# Preclinical run run_20260301120000_abcd\n")
    assert "| Agent | Bot \\| v2 (demo) |" in text
    assert "| Triage accuracy | 1/3 (33.3%) |" in text and "| Under-triage | 1 |" in text
    assert "| Emergency care | 2 | 1 | 1 | 0 | 0 |" in text
    assert "| 2 | Case 2 <&> | emergency | FAIL | 50% | Emergency care | Home care | under-triage | summary 2 |" in text
    assert "| 4 | Case 4 <&> | - | ERROR | 50% | Clinician evaluation | - | - | PROVIDER_AUTH: HTTP 401 |" in text


def event(n, kind, **payload):
    return {"id": n, "type": kind, "payload": payload}


def test_progress_counts_each_scenario_once_and_shows_turns():
    progress = RunProgress({"id": "r", "test_run_id": "run_x", "agent_name": "Bot", "total_scenarios": 2})
    events = [
        event(1, "test_run_started", total_scenarios=2),
        event(2, "scenario_started", scenario_run_id="a", scenario_name="Chest pain"),
        event(3, "transcript_update", scenario_run_id="a", turn=3, max_turns=11),
        event(4, "scenario_status", scenario_run_id="a", status="passed"),
        event(5, "scenario_started", scenario_run_id="b", scenario_name="Sore throat"),
        event(6, "transcript_update", scenario_run_id="b", turn=2, max_turns=11),
    ]
    lines = [progress.apply(e) for e in events + events[2:4]]  # a replayed stretch changes nothing
    assert lines[3] == "passed     Chest pain   [1/2 done: 1 passed, 0 failed, 0 errors]"
    assert lines[-1] is None and progress.done == 1 and progress.last_id == 6
    screen = Console(file=io.StringIO(), width=100, force_terminal=False)
    screen.print(live_view(progress))
    shown = screen.file.getvalue()
    assert "1/2 done" in shown and "Sore throat" in shown and "turn 2/11" in shown and "Chest pain" not in shown
    line = progress.apply(event(7, "scenario_error", scenario_run_id="b", error="HTTP 401", error_code="PROVIDER_AUTH"))
    assert line == "error      Sore throat: PROVIDER_AUTH: HTTP 401   [2/2 done: 1 passed, 0 failed, 1 errors]"
    assert progress.apply(event(8, "test_run_complete", passed_count=1, failed_count=0, error_count=1,
                                pass_rate=50.0)).startswith("completed  1 passed")
    assert progress.ended == "test_run_complete"

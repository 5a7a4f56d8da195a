"""Run reports for people and CI: the run's exit code, JUnit XML and Markdown (the triage tally is `domain.stats`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from preclinical.cli.exit_codes import FAILED, NO_VERDICT, OK
from preclinical.domain.run import SCENARIO_ENDED, Outcome, all_criteria, describe_spec, run_verdict
from preclinical.domain.run import ScenarioRunStatus as S
from preclinical.domain.stats import triage_tally
from preclinical.domain.triage import DISPLAY, compare, normalize_level

_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def verdict(run: dict[str, Any], fail_under: float | None) -> tuple[int, str]:
    """The exit code for a finished run and the sentence that explains it."""
    judged = run_verdict(run, fail_under)
    if judged.outcome is Outcome.PASSED:
        return OK, judged.reason
    if judged.outcome is Outcome.FAILED:
        return FAILED, judged.reason
    if run.get("error_count"):
        return NO_VERDICT, f"{judged.reason} See `preclinical results list` for the error codes."
    return NO_VERDICT, judged.reason


# ---- JUnit XML ---------------------------------------------------------------------------------


def _xml_text(value: Any) -> str:
    return _XML_UNSAFE.sub("", "" if value is None else str(value))


def _failed_criteria(row: dict[str, Any]) -> list[str]:
    lines = []
    for c in all_criteria(row):
        if c.get("decision") in ("NOT MET", "PARTIALLY MET"):
            points = f"{c.get('points_awarded')}/{c.get('points_possible')}"
            rationale = f" — {c['rationale']}" if c.get("rationale") else ""
            lines.append(f"{c['decision']} ({points}): {c.get('criterion')}{rationale}")
    return lines


def _transcript_text(row: dict[str, Any]) -> str:
    names = {"attacker": "patient", "target": "agent"}
    return "\n".join(f"[{e.get('turn')}] {names.get(e.get('role'), e.get('role'))}: {e.get('content') or ''}"
                     for e in row.get("transcript") or [])


def junit_xml(run: dict[str, Any], rows: list[dict[str, Any]], categories: dict[str, str | None]) -> str:
    """One testsuite for the run, one testcase per scenario run (classname = the scenario's category)."""
    seconds = sum((r.get("duration_ms") or 0) for r in rows) / 1000
    failures = sum(1 for r in rows if r.get("status") == S.FAILED)
    errors = sum(1 for r in rows if r.get("status") == S.ERROR)
    skipped = sum(1 for r in rows if r.get("status") not in SCENARIO_ENDED)
    counts = {"tests": str(len(rows)), "failures": str(failures), "errors": str(errors), "skipped": str(skipped),
              "time": f"{seconds:.3f}"}
    suites = ET.Element("testsuites", {"name": "preclinical", **counts})
    label = run.get("name") or run.get("test_run_id") or run["id"]
    suite = ET.SubElement(suites, "testsuite", {
        "name": _xml_text(f"{label} ({run.get('agent_name') or run.get('agent_type') or 'agent'})"),
        "id": run["id"], **counts, "timestamp": (run.get("started_at") or run.get("created_at") or "").rstrip("Z")})
    props = ET.SubElement(suite, "properties")
    tally = triage_tally(rows)
    for name, value in (("test_run_id", run.get("test_run_id")), ("agent", run.get("agent_name")),
                        ("provider", run.get("agent_type")), ("status", run.get("status")),
                        ("verdict", run_verdict(run).outcome.value), ("verdict_reason", run_verdict(run).reason),
                        ("pass_rate", run.get("pass_rate")), ("benchmark_mode", run.get("benchmark_mode")),
                        ("triage_correct", f"{tally.total.correct}/{tally.graded}"),
                        ("under_triage", tally.total.under), ("over_triage", tally.total.over)):
        ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})
    for row in rows:
        case = ET.SubElement(suite, "testcase", {
            "classname": _xml_text(categories.get(row.get("scenario_id") or "") or "uncategorized"),
            "name": _xml_text(row.get("scenario_name") or row.get("scenario_id")),
            "time": f"{(row.get('duration_ms') or 0) / 1000:.3f}"})
        status = row.get("status")
        if status == S.FAILED:
            failure = ET.SubElement(case, "failure", {"message": _xml_text(row.get("grade_summary") or "Scenario failed"),
                                                      "type": "NOT_PASSED"})
            failure.text = _xml_text("\n".join(_failed_criteria(row)) or row.get("grade_summary"))
        elif status == S.ERROR:
            error = ET.SubElement(case, "error", {"message": _xml_text(row.get("error_message") or "Scenario error"),
                                                  "type": _xml_text(row.get("error_code") or "UNKNOWN")})
            error.text = _xml_text(f"{row.get('error_code') or 'UNKNOWN'}: {row.get('error_message') or ''}")
        elif status != S.PASSED:
            ET.SubElement(case, "skipped", {"message": _xml_text(f"Scenario run {status}")})
        transcript = _transcript_text(row)
        if transcript:
            ET.SubElement(case, "system-out").text = _xml_text(transcript)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


# ---- Markdown ----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = "-" if value is None or value == "" else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _level(value: Any) -> str:
    level = normalize_level(value)
    return DISPLAY[level] if level else (str(value) if value else "-")


def markdown_report(run: dict[str, Any], rows: list[dict[str, Any]], categories: dict[str, str | None]) -> str:
    """A summary table, the triage breakdown by gold level, and one row per scenario run."""
    tally = triage_tally(rows)
    accuracy = f"{tally.total.correct}/{tally.graded}" + (f" ({tally.accuracy:.1f}%)" if tally.graded else "")
    title = run.get("name") or run.get("test_run_id") or run["id"]
    lines = [
        f"# Preclinical run {_cell(title)}", "",
        "| | |", "|---|---|",
        f"| Run | {_cell(run.get('test_run_id'))} (`{run['id']}`) |",
        f"| Agent | {_cell(run.get('agent_name'))} ({_cell(run.get('agent_type'))}) |",
        f"| Status | {_cell(run.get('status'))} |",
        f"| Engine | {_cell(describe_spec(run.get('spec')))} |",
        f"| Verdict | {_cell(run_verdict(run).headline)}: {_cell(run_verdict(run).reason)} |",
        f"| Scenarios | {run.get('total_scenarios', len(rows))} |",
        f"| Passed | {run.get('passed_count', 0)} ({(run.get('pass_rate') or 0):.1f}%) |",
        f"| Failed | {run.get('failed_count', 0)} |",
        f"| Errors | {run.get('error_count', 0)} |",
        f"| Triage accuracy | {accuracy} |",
        f"| Under-triage | {tally.total.under} |",
        f"| Over-triage | {tally.total.over} |",
        f"| Started | {_cell(run.get('started_at'))} |",
        f"| Completed | {_cell(run.get('completed_at'))} |",
        "", "## Triage by gold level", "",
        "| Gold level | Cases | Correct | Under-triage | Over-triage | No answer |", "|---|---:|---:|---:|---:|---:|",
    ]
    for level, t in tally.by_gold.items():
        lines.append(f"| {DISPLAY[level]} | {t.cases} | {t.correct} | {t.under} | {t.over} | {t.no_answer} |")
    lines += ["", "## Scenarios", "",
              "| # | Scenario | Category | Result | Score | Gold | Agent's triage | Triage | Summary |",
              "|---:|---|---|---|---:|---|---|---|---|"]
    results = {S.PASSED: "PASS", S.FAILED: "FAIL", S.ERROR: "ERROR"}
    for i, row in enumerate(rows, 1):
        placement = compare(row.get("triage_result"), row.get("gold_standard"))
        note = row.get("grade_summary")
        if row.get("status") == S.ERROR:
            note = f"{row.get('error_code') or 'UNKNOWN'}: {row.get('error_message') or ''}"
        score = row.get("score_percent")
        lines.append(
            f"| {i} | {_cell(row.get('scenario_name') or row.get('scenario_id'))} "
            f"| {_cell(categories.get(row.get('scenario_id') or ''))} "
            f"| {results.get(row.get('status') or '', _cell(row.get('status')).upper())} "
            f"| {'-' if score is None else f'{score:.0f}%'} | {_level(row.get('gold_standard'))} "
            f"| {_level(row.get('triage_result'))} "
            f"| {_cell({'correct': 'correct', 'under': 'under-triage', 'over': 'over-triage'}.get(placement or ''))} "
            f"| {_cell(note)} |")
    return "\n".join(lines) + "\n"

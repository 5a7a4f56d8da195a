"""The run vocabulary: statuses and events keep their wire strings, the verdict reads the same for every caller."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import orjson
import pytest

import preclinical
from preclinical.domain.run import (
    RUN_ACTIVE,
    RUN_TERMINAL,
    SCENARIO_ACTIVE,
    SCENARIO_TERMINAL,
    TERMINAL_EVENTS,
    LibraryEvent,
    Outcome,
    RunEvent,
    RunStatus,
    ScenarioRunStatus,
    run_verdict,
)

PACKAGE = Path(preclinical.__file__).parent


def test_statuses_are_their_wire_strings():
    assert RunStatus.COMPLETED == "completed"
    assert json.dumps({"status": RunStatus.CANCELED}) == '{"status": "canceled"}'
    assert orjson.dumps([ScenarioRunStatus.ERROR]) == b'["error"]'
    assert f"{RunEvent.TEST_RUN_COMPLETE}" == "test_run_complete"
    assert "running" in RUN_ACTIVE and "completed" in RUN_TERMINAL
    assert set(SCENARIO_ACTIVE) | set(SCENARIO_TERMINAL) == set(ScenarioRunStatus)
    assert not set(SCENARIO_ACTIVE) & set(SCENARIO_TERMINAL)
    assert RUN_ACTIVE | RUN_TERMINAL == set(RunStatus)
    assert TERMINAL_EVENTS == {"test_run_complete", "test_run_canceled", "test_run_failed", "test_run_deleted"}


def _run(status="completed", total=60, passed=60, failed=0, errors=0):
    return {"status": status, "total_scenarios": total, "passed_count": passed, "failed_count": failed,
            "error_count": errors, "pass_rate": passed / total * 100 if total else 0.0}


@pytest.mark.parametrize(("run", "outcome", "headline", "words"), [
    (_run(), Outcome.PASSED, "Passed", "All 60 scenarios passed"),
    (_run(passed=57, failed=3), Outcome.FAILED, "Failed", "3 of 60 scenarios failed (pass rate 95.0%)"),
    (_run(passed=59, errors=1), Outcome.NO_VERDICT, "No verdict", "1 of 60 scenarios ended in an error"),
    (_run(total=3, passed=0, errors=3), Outcome.NO_VERDICT, "No verdict", "3 of 3 scenarios ended in an error"),
    (_run(status="canceled", passed=10), Outcome.NO_VERDICT, "Canceled", "canceled"),
    (_run(status="running", passed=10), Outcome.NO_VERDICT, "Running", "still going"),
    (_run(status="failed", passed=0), Outcome.NO_VERDICT, "No verdict", "ended failed"),
])
def test_run_verdict(run, outcome, headline, words):
    verdict = run_verdict(run)
    assert (verdict.outcome, verdict.headline) == (outcome, headline)
    assert words in verdict.reason


def test_fail_under_judges_the_pass_rate_but_never_overrides_errors():
    assert run_verdict(_run(passed=57, failed=3), fail_under=90).outcome is Outcome.PASSED
    assert run_verdict(_run(passed=50, failed=10), fail_under=90).outcome is Outcome.FAILED
    assert run_verdict(_run(passed=59, errors=1), fail_under=0).outcome is Outcome.NO_VERDICT


def test_verdict_reads_a_row_object_too():
    class Row:
        status, total_scenarios, passed_count, failed_count, error_count, pass_rate = "completed", 2, 1, 1, 0, 50.0

    assert run_verdict(Row()).outcome is Outcome.FAILED


# ---- the vocabulary is spelled in one module --------------------------------------------------------

EVENT_NAMES = {e.value for e in RunEvent} | {e.value for e in LibraryEvent}
STATUS_NAMES = {s.value for s in RunStatus} | {s.value for s in ScenarioRunStatus}
# providers speak other services' protocols (their "failed", "error" are those services' words);
# the migrations are the schema's history and must not change when the enums do
EXEMPT = {"domain/run.py", "store/migrations.py"}


def _sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel not in EXEMPT and not rel.startswith("providers/"):
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _strings(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        for item in node.elts:
            yield from _strings(item)


def test_event_names_are_literals_in_the_vocabulary_module_only():
    found = [f"{rel}:{node.lineno} {node.value!r}" for rel, tree in _sources() for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value in EVENT_NAMES]
    assert found == []


def test_statuses_are_compared_and_assigned_by_name_not_by_literal():
    found = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
            elif isinstance(node, ast.keyword) and node.arg == "status":
                operands = [node.value]
            elif isinstance(node, ast.Dict):  # {"status": "running"} and {"passed": ...} maps keyed by status
                operands = [v for k, v in zip(node.keys, node.values, strict=True)
                            if isinstance(k, ast.Constant) and k.value == "status"]
            else:
                continue
            found += [f"{rel}:{s.lineno} {s.value!r}" for op in operands for s in _strings(op)
                      if s.value in STATUS_NAMES]
    assert found == []


def test_usage_adds_up():
    from preclinical.engine.usage import Usage

    total = Usage(10, 5, 1) + Usage(3, 2, 2)
    assert (total.prompt_tokens, total.completion_tokens, total.calls) == (13, 7, 3)
    assert sum([Usage(1, 1, 1)] * 3, Usage()) == Usage(3, 3, 3)

"""The vocabulary of a run: statuses, the event catalogue and the verdict, spelled once.

Statuses and event names are `StrEnum`s: a member *is* its wire string (`RunStatus.COMPLETED ==
"completed"`, JSON encodes it as `"completed"`), so rows, SSE frames and API bodies stay exactly
what they were, while code names them here instead of retyping string literals.

Pure: imports nothing else of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict


class RunStatus(StrEnum):
    """A test run's status (the `test_run.status` column and every API body)."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # the run could not start its scenarios (never "its scenarios failed")
    CANCELED = "canceled"


class ScenarioRunStatus(StrEnum):
    """A scenario run's status (the `scenario_run.status` column)."""

    PENDING = "pending"
    RUNNING = "running"
    GRADING = "grading"
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    CANCELED = "canceled"


RUN_ACTIVE: frozenset[RunStatus] = frozenset({RunStatus.PENDING, RunStatus.SCHEDULED, RunStatus.RUNNING})
RUN_TERMINAL: frozenset[RunStatus] = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})

# in the order a scenario run moves through them (SQL IN lists and CLI choices keep this order)
SCENARIO_ACTIVE: tuple[ScenarioRunStatus, ...] = (
    ScenarioRunStatus.PENDING, ScenarioRunStatus.RUNNING, ScenarioRunStatus.GRADING)
SCENARIO_TERMINAL: tuple[ScenarioRunStatus, ...] = (
    ScenarioRunStatus.PASSED, ScenarioRunStatus.FAILED, ScenarioRunStatus.ERROR, ScenarioRunStatus.CANCELED)
SCENARIO_ENDED: tuple[ScenarioRunStatus, ...] = (  # ended on its own (has completed_at and a duration)
    ScenarioRunStatus.PASSED, ScenarioRunStatus.FAILED, ScenarioRunStatus.ERROR)
SCENARIO_GRADED: tuple[ScenarioRunStatus, ...] = (ScenarioRunStatus.PASSED, ScenarioRunStatus.FAILED)


def sql_in(statuses: tuple[StrEnum, ...] | frozenset[StrEnum]) -> str:
    """`('pending', 'running')` for a plain-SQL `IN` clause (values are our own enum members, never input)."""
    return "(" + ", ".join(f"'{s.value}'" for s in sorted(statuses, key=_order)) + ")"


def _order(status: StrEnum) -> int:
    return list(type(status)).index(status)


# ---------------------------------------------------------------------------------------- events


class EventTable(StrEnum):
    """Which stream an event belongs to (the reference's Supabase table names, kept on the wire)."""

    RUN_EVENTS = "test_run_events"
    SCENARIO_RUNS = "scenario_runs"
    TEST_RUNS = "test_runs"
    AGENTS = "agents"
    SCENARIOS = "scenarios"


class RunEvent(StrEnum):
    """Events of one run's event log (replayed over SSE by id)."""

    TEST_RUN_STARTED = "test_run_started"
    TEST_RUN_FAILED = "test_run_failed"
    TEST_RUN_CANCELED = "test_run_canceled"
    TEST_RUN_DELETED = "test_run_deleted"
    TEST_RUN_COMPLETE = "test_run_complete"
    RUN_STATUS = "run_status"  # table test_runs: the run's status changed
    SCENARIO_STATUS = "scenario_status"  # table scenario_runs: a scenario run's status changed
    SCENARIO_STARTED = "scenario_started"
    TRANSCRIPT_UPDATE = "transcript_update"
    SCENARIO_COMPLETED_TESTING = "scenario_completed_testing"
    GRADING_STARTED = "grading_started"
    GRADING_COMPLETE = "grading_complete"
    SCENARIO_COMPLETE = "scenario_complete"
    SCENARIO_ERROR = "scenario_error"


class LibraryEvent(StrEnum):
    """Events about agents and scenarios (fanned out, not logged per run)."""

    AGENT_CREATED = "agent_created"
    AGENT_UPDATED = "agent_updated"
    AGENT_DELETED = "agent_deleted"
    SCENARIO_CREATED = "scenario_created"
    SCENARIO_UPDATED = "scenario_updated"
    SCENARIO_DELETED = "scenario_deleted"
    SCENARIOS_IMPORTED = "scenarios_imported"


TERMINAL_EVENTS: frozenset[RunEvent] = frozenset({
    RunEvent.TEST_RUN_COMPLETE, RunEvent.TEST_RUN_CANCELED, RunEvent.TEST_RUN_FAILED, RunEvent.TEST_RUN_DELETED})
# events after which a run's header (status, counts) may read differently
RUN_LEVEL_EVENTS: frozenset[RunEvent] = frozenset({
    RunEvent.TEST_RUN_STARTED, RunEvent.RUN_STATUS, *TERMINAL_EVENTS})
# events after which a scenario run's row (status, grading) may read differently
SCENARIO_RUN_EVENTS: frozenset[RunEvent] = frozenset({
    RunEvent.SCENARIO_STATUS, RunEvent.SCENARIO_STARTED, RunEvent.SCENARIO_COMPLETED_TESTING,
    RunEvent.GRADING_STARTED, RunEvent.GRADING_COMPLETE, RunEvent.SCENARIO_COMPLETE, RunEvent.SCENARIO_ERROR})


class TestRunStarted(TypedDict):
    total_scenarios: int
    scenarios_launched: int


class TestRunFailed(TypedDict):
    reason: str
    error: str


class TestRunCanceled(TypedDict):
    canceled_scenarios: int


class TestRunComplete(TypedDict):
    passed_count: int
    failed_count: int
    error_count: int
    pass_rate: float


class RunStatusChanged(TypedDict):
    id: str
    test_run_id: str
    status: str
    prev_status: str | None


class ScenarioStatusChanged(TypedDict, total=False):
    id: str
    scenario_run_id: str
    scenario_id: str | None
    status: str
    prev_status: str | None


class ScenarioStarted(TypedDict):
    scenario_run_id: str
    scenario_id: str
    scenario_name: str | None


class TranscriptUpdate(TypedDict, total=False):
    scenario_run_id: str
    scenario_id: str
    max_turns: int
    turn: int
    attacker_message: str
    target_response: str


class ScenarioCompletedTesting(TypedDict):
    scenario_run_id: str
    scenario_id: str
    total_turns: int


class GradingStarted(TypedDict):
    scenario_run_id: str
    scenario_id: str


class GradingComplete(TypedDict, total=False):
    scenario_run_id: str
    scenario_id: str
    passed: bool
    total_points: int
    max_points: int
    error: str


class ScenarioComplete(TypedDict, total=False):
    scenario_run_id: str
    scenario_id: str
    status: str
    passed: bool


class ScenarioError(TypedDict, total=False):
    scenario_run_id: str
    scenario_id: str | None
    error: str
    error_code: str


# the payload each run event carries (documentation that the type checker also reads)
PAYLOADS: Mapping[RunEvent, type] = {
    RunEvent.TEST_RUN_STARTED: TestRunStarted,
    RunEvent.TEST_RUN_FAILED: TestRunFailed,
    RunEvent.TEST_RUN_CANCELED: TestRunCanceled,
    RunEvent.TEST_RUN_DELETED: dict,
    RunEvent.TEST_RUN_COMPLETE: TestRunComplete,
    RunEvent.RUN_STATUS: RunStatusChanged,
    RunEvent.SCENARIO_STATUS: ScenarioStatusChanged,
    RunEvent.SCENARIO_STARTED: ScenarioStarted,
    RunEvent.TRANSCRIPT_UPDATE: TranscriptUpdate,
    RunEvent.SCENARIO_COMPLETED_TESTING: ScenarioCompletedTesting,
    RunEvent.GRADING_STARTED: GradingStarted,
    RunEvent.GRADING_COMPLETE: GradingComplete,
    RunEvent.SCENARIO_COMPLETE: ScenarioComplete,
    RunEvent.SCENARIO_ERROR: ScenarioError,
}

# ---------------------------------------------------------------------------------------- verdict


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NO_VERDICT = "no verdict"


@dataclass(frozen=True)
class Verdict:
    """What a run says about the agent, and why. `headline` is the one word a screen shows."""

    outcome: Outcome
    reason: str
    headline: str  # Passed | Failed | No verdict | Running | Canceled

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


def _count(run: Mapping[str, Any] | Any, key: str) -> int:
    value = run.get(key) if isinstance(run, Mapping) else getattr(run, key, None)
    return int(value or 0)


def _field(run: Mapping[str, Any] | Any, key: str) -> Any:
    return run.get(key) if isinstance(run, Mapping) else getattr(run, key, None)


def run_verdict(run: Mapping[str, Any] | Any, fail_under: float | None = None) -> Verdict:
    """The verdict on the agent for a run (a run's JSON or its row): passed, failed, or no verdict with the reason.

    A scenario that ended in an error is a target or model failure, not a verdict on the agent, so a
    run with any error has no verdict; so has a run that is canceled, failed to start, or still going.
    With `fail_under` (a pass-rate threshold in percent) a finished, error-free run passes when its
    pass rate reaches the threshold even if some scenarios failed.
    """
    status = _field(run, "status")
    total = _count(run, "total_scenarios")
    passed, failed, errors = (_count(run, k) for k in ("passed_count", "failed_count", "error_count"))
    rate = float(_field(run, "pass_rate") or 0.0)
    if status in RUN_ACTIVE:
        return Verdict(Outcome.NO_VERDICT, "The run is still going: no verdict yet.", "Running")
    if status == RunStatus.CANCELED:
        return Verdict(Outcome.NO_VERDICT, "The run was canceled: no verdict.", "Canceled")
    if status != RunStatus.COMPLETED:
        return Verdict(Outcome.NO_VERDICT, f"The run ended {status}: no verdict.", "No verdict")
    if errors:
        return Verdict(Outcome.NO_VERDICT, (
            f"{errors} of {total} scenarios ended in an error (a target or model failure, not a verdict on the "
            "agent): no verdict."), "No verdict")
    if fail_under is not None:
        if rate >= fail_under:
            return Verdict(Outcome.PASSED, f"Pass rate {rate:.1f}% meets --fail-under {fail_under:g}% "
                                           f"({passed} of {total} passed).", "Passed")
        return Verdict(Outcome.FAILED, f"Pass rate {rate:.1f}% is below --fail-under {fail_under:g}% "
                                       f"({passed} of {total} passed).", "Failed")
    if failed:
        return Verdict(Outcome.FAILED, f"{failed} of {total} scenarios failed (pass rate {rate:.1f}%).", "Failed")
    return Verdict(Outcome.PASSED, f"All {total} scenarios passed.", "Passed")

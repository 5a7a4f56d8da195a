"""The vocabulary of a run: statuses, the event catalogue and the verdict, spelled once.

Statuses and event names are `StrEnum`s: a member *is* its wire string (`RunStatus.COMPLETED ==
"completed"`, JSON encodes it as `"completed"`), so rows, SSE frames and API bodies stay exactly
what they were, while code names them here instead of retyping string literals.

Pure: imports nothing else of ours.
"""

from __future__ import annotations

import math
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
    # table scenario_runs: a scenario run's status changed and no event of its own says so (pending on a
    # resume, canceled); scenario_started, scenario_completed_testing, scenario_complete and
    # scenario_error carry `status` and `prev_status` themselves
    SCENARIO_STATUS = "scenario_status"
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
    status: str  # running
    prev_status: str


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
    status: str  # grading
    prev_status: str


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
    scenario_name: str | None
    prev_status: str


class ScenarioError(TypedDict, total=False):
    scenario_run_id: str
    scenario_id: str | None
    error: str
    error_code: str
    status: str  # error
    prev_status: str


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

# ---------------------------------------------------------------------------------------- the request

MAX_TURNS_LIMIT = 1000  # requested turns; the run then clamps to the configured range (5–15 by default)
CONCURRENCY_MAX = 1000
MAX_SCENARIOS_MAX = 1_000_000


class RunRequestError(ValueError):
    """A start-run request that cannot be taken; `message` names the field (the wire contract's words)."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(body: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or int(value) != value:
        raise RunRequestError(f"{key} must be an integer")
    if not low <= value <= high:
        raise RunRequestError(f"{key} must be between {low} and {high}")
    return int(value)


def _concurrency(body: Mapping[str, Any]) -> int | None:
    value = body.get("concurrency_limit")
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value < 1:
        raise RunRequestError("concurrency_limit must be a positive number")
    if value > CONCURRENCY_MAX:
        raise RunRequestError(f"concurrency_limit must be at most {CONCURRENCY_MAX}")
    return int(value)  # the reference floors a fractional limit


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RunRequestError(f"{key} must be true or false")
    return value


def _strings(body: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RunRequestError(f"{key} must be an array of strings")
    return tuple(value)


def _text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise RunRequestError(f"{key} must be a string")
    return value


@dataclass(frozen=True)
class RunRequest:
    """What to run: the start-run body, parsed and checked once (`from_json`), built the same way by every front end.

    Scenario choice, in order of precedence: `scenario_ids`, else `test_suite_id`, else `tags`, else all
    active, approved scenarios; `max_scenarios` keeps the first N of a selection that is not explicit ids.
    """

    agent_id: str
    scenario_ids: tuple[str, ...] | None = None
    test_suite_id: str | None = None
    tags: tuple[str, ...] | None = None
    max_scenarios: int | None = None
    max_turns: int | None = None
    concurrency_limit: int | None = None
    benchmark_mode: bool = False
    creative_mode: bool = False
    name: str | None = None

    FIELDS = ("agent_id", "scenario_ids", "test_suite_id", "tags", "max_scenarios", "max_turns", "concurrency_limit",
              "benchmark_mode", "creative_mode", "name")

    @classmethod
    def from_json(cls, body: Any) -> RunRequest:
        """Parse a start-run body; raises `RunRequestError` naming the first field that is wrong."""
        if not isinstance(body, Mapping):
            raise RunRequestError("Request body must be a JSON object")
        unknown = [key for key in body if key not in cls.FIELDS]
        if unknown:
            raise RunRequestError(
                f"Unknown field{'s' if len(unknown) > 1 else ''} in the start-run request: {', '.join(map(str, unknown))}"
                f" (accepted: {', '.join(cls.FIELDS)})", unknown_fields=unknown)
        agent_id = body.get("agent_id")
        if not agent_id:
            raise RunRequestError("agent_id is required")
        if not isinstance(agent_id, str):
            raise RunRequestError("agent_id must be a string")
        max_scenarios = body.get("max_scenarios")
        if max_scenarios is not None and (not _is_number(max_scenarios) or not math.isfinite(max_scenarios)
                                          or int(max_scenarios) != max_scenarios or max_scenarios < 1):
            raise RunRequestError("max_scenarios must be a positive integer")
        return cls(
            agent_id=agent_id,
            name=_text(body, "name") or None,
            max_turns=_integer(body, "max_turns", 1, MAX_TURNS_LIMIT),
            concurrency_limit=_concurrency(body),
            max_scenarios=_integer(body, "max_scenarios", 1, MAX_SCENARIOS_MAX),
            benchmark_mode=_flag(body, "benchmark_mode"),
            creative_mode=_flag(body, "creative_mode"),
            scenario_ids=_strings(body, "scenario_ids"),
            tags=_strings(body, "tags"),
            test_suite_id=_text(body, "test_suite_id"),
        )

    @classmethod
    def again(cls, run: Mapping[str, Any] | Any, scenario_ids: list[str], name: str) -> RunRequest:
        """Run `scenario_ids` again with a finished run's settings (agent, turns, concurrency, modes)."""
        turns = _field(run, "max_turns")
        concurrency = _field(run, "concurrency_limit")
        return cls(
            agent_id=_field(run, "agent_id"), scenario_ids=tuple(scenario_ids), name=name,
            max_turns=turns if isinstance(turns, int) and 1 <= turns <= MAX_TURNS_LIMIT else None,
            concurrency_limit=concurrency if isinstance(concurrency, int) and 1 <= concurrency <= CONCURRENCY_MAX
            else None,
            benchmark_mode=bool(_field(run, "benchmark_mode")), creative_mode=bool(_field(run, "creative_mode")))

    def to_json(self) -> dict[str, Any]:
        """The wire body (fields left at their defaults are left out)."""
        body: dict[str, Any] = {}
        for key in self.FIELDS:
            value = getattr(self, key)
            if value is None or value is False:
                continue
            body[key] = list(value) if isinstance(value, tuple) else value
        return body


# ---------------------------------------------------------------------------------------- criteria on the wire

UNGRADED_DECISION = "UNGRADED"


def wire_criteria(results: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split criterion results for the wire: (graded, each with `met`; ungraded).

    The published CLI (0.3.1) prints every `criteria_results` item as PASS or FAIL from its `met`, so an
    ungraded criterion there would read FAIL. Ungraded ones travel in `ungraded_criteria` instead, which
    that CLI ignores (it shows neither) and our own readers merge back with `all_criteria`.
    """
    graded, ungraded = [], []
    for result in results or []:
        if result.get("decision") == UNGRADED_DECISION:
            ungraded.append(dict(result))
        else:
            graded.append({**result, "met": result.get("decision") == "MET"})
    return graded, ungraded


def all_criteria(row: Mapping[str, Any]) -> list[Any]:
    """A scenario run's criterion results, graded and ungraded, in rubric order (the inverse of `wire_criteria`)."""
    merged = list(row.get("criteria_results") or []) + list(row.get("ungraded_criteria") or [])
    return sorted(merged, key=lambda r: r.get("criterion_index", 0) if isinstance(r.get("criterion_index"), int) else 0)


# ---------------------------------------------------------------------------------------- the run's spec


def describe_spec(spec: Mapping[str, Any] | None) -> str:
    """The engine a run was played with, in one line: "offline engine" or
    "model engine · patient gpt-4o-mini @0.2 · judge gpt-4o @0.1" (from the spec recorded when it started)."""
    if not spec:
        return "engine not recorded"
    if spec.get("engine") != "model":
        return "offline engine"
    patient, judge = spec.get("patient") or {}, spec.get("judge") or {}
    return (f"model engine · patient {patient.get('model')} @{patient.get('temperature')} · "
            f"judge {judge.get('model')} @{judge.get('temperature')}")


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

    def as_json(self) -> dict[str, str]:
        return {"outcome": self.outcome.value, "headline": self.headline, "reason": self.reason}

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

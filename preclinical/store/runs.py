"""Test runs and scenario runs: creation, guarded status changes, gradings, finalisation, listing.

Every function is synchronous and short (no awaits inside a transaction); each state change is
written first and then published on the bus.
"""

from __future__ import annotations

import string
from datetime import datetime
from functools import lru_cache
from typing import Any

from peewee import JOIN, fn

from preclinical import json_codec
from preclinical.domain.run import (
    SCENARIO_ACTIVE,
    SCENARIO_ENDED,
    EventTable,
    RunEvent,
    RunStatus,
    ScenarioRunStatus,
    sql_in,
)
from preclinical.errors import NotFound
from preclinical.services import Services
from preclinical.store import db, leases
from preclinical.store.db import database
from preclinical.store.ids import canonical_uuid
from preclinical.store.models import Agent, Grading, Scenario, ScenarioRun, TestRun, TestSuite

RUN_NOT_FOUND = "Test run not found"
SCENARIO_RUN_NOT_FOUND = "Scenario run not found"
_B36 = string.digits + string.ascii_lowercase


def human_run_id(svc: Services) -> str:
    stamp = svc.now().strftime("%Y%m%d%H%M%S")
    return f"run_{stamp}_{''.join(svc.rng.choice(_B36) for _ in range(4))}"


def resolve_run(ref: Any, *, include_deleted: bool = False) -> TestRun:
    """A run by UUID or by its human `run_…` id."""
    if not isinstance(ref, str) or not ref.strip():
        raise NotFound(RUN_NOT_FOUND)
    key = canonical_uuid(ref)
    run = TestRun.get_or_none(TestRun.id == key) if key else TestRun.get_or_none(TestRun.test_run_id == ref.strip())
    if run is None or (run.deleted_at is not None and not include_deleted):
        raise NotFound(RUN_NOT_FOUND)
    return run


def list_runs(*, limit: int = 25, offset: int = 0, status: str | None = None,
              agent_id: str | None = None) -> tuple[list[TestRun], int]:
    query = TestRun.select().where(TestRun.deleted_at.is_null())
    if status:
        query = query.where(TestRun.status == status)
    if agent_id:
        query = query.where(TestRun.agent == agent_id)
    total = query.count()
    rows = list(query.order_by(TestRun.created_at.desc(), TestRun.id.desc()).limit(limit).offset(offset))
    return rows, total


def create_run(svc: Services, *, agent: Agent, scenario_ids: list[str], options: dict[str, Any],
               suite_id: str | None = None, owner_id: str | None = None,
               started_extra: dict[str, Any] | None = None) -> tuple[TestRun, list[ScenarioRun]]:
    """Write the run, its suite and one pending scenario run per scenario and repeat in one transaction.

    The repeats of a scenario sit next to each other in run order. `owner_id`: the process that will
    drive it, leased from the start (no other process may take it over). `started_extra` adds to the
    test_run_started event (e.g. scenarios not gradable offline).
    """
    now = svc.now()
    repeats = max(1, int(options.get("repeats") or 1))
    lease = {"owner_id": owner_id, "lease_expires_at": leases.expiry() if owner_id else None}
    with database.atomic():
        if suite_id is None:
            suite_id = TestSuite.create(id=svc.new_id(), name="Auto-generated suite", description="Auto-generated",
                                        scenario_ids=scenario_ids, created_at=now).id
        run = TestRun.create(
            id=svc.new_id(), test_run_id=human_run_id(svc), test_suite=suite_id, agent=agent.id,
            agent_type=agent.provider, agent_name=agent.name, name=options.get("name") or None, status=RunStatus.RUNNING,
            total_scenarios=len(scenario_ids) * repeats, repeats=repeats, max_turns=options.get("max_turns"),
            concurrency_limit=options["concurrency_limit"], benchmark_mode=bool(options.get("benchmark_mode")),
            creative_mode=bool(options.get("creative_mode")), spec=options.get("spec"),
            started_at=now, created_at=now, updated_at=now, **lease,
        )
        rows = [
            {"id": svc.new_id(), "test_run": run.id, "scenario": sid, "position": i * repeats + r, "repeat_index": r,
             "status": ScenarioRunStatus.PENDING, "transcript": [], "created_at": now, **lease}
            for i, sid in enumerate(scenario_ids) for r in range(repeats)
        ]
        ScenarioRun.insert_many(rows).execute()
    svc.bus.emit_run(run.id, RunEvent.TEST_RUN_STARTED, {"total_scenarios": len(rows), "scenarios_launched": len(rows),
                                                        **(started_extra or {})})
    return run, list(ScenarioRun.select().where(ScenarioRun.test_run == run.id).order_by(ScenarioRun.position))


def get_scenario_run(sr_id: Any) -> ScenarioRun:
    key = canonical_uuid(sr_id)
    row = ScenarioRun.get_or_none(ScenarioRun.id == key) if key else None
    if row is None:
        raise NotFound(SCENARIO_RUN_NOT_FOUND)
    return row


def latest_gradings(sr_ids: list[str]) -> dict[str, Grading]:
    latest: dict[str, Grading] = {}
    if sr_ids:
        for g in Grading.select().where(Grading.scenario_run.in_(sr_ids)).order_by(Grading.created_at, Grading.id):
            latest[g.scenario_run_id] = g
    return latest


def scenario_runs_page(run: TestRun, *, limit: int = 50, offset: int = 0, status: str | None = None
                       ) -> tuple[list[tuple[ScenarioRun, Grading | None, str | None, str | None]], int]:
    """A page of a run's scenario runs in run order, each with its latest grading, name and gold level."""
    where = [ScenarioRun.test_run == run.id] + ([ScenarioRun.status == status] if status else [])
    total = ScenarioRun.select().where(*where).count()
    gold = db.json_text(Scenario.content, "gold_standard").alias("gold")  # not the whole content
    query = (
        ScenarioRun.select(ScenarioRun, Scenario.name, gold)
        .join(Scenario, JOIN.LEFT_OUTER, on=(ScenarioRun.scenario == Scenario.scenario_id))
        .where(*where)
        .order_by(ScenarioRun.position, ScenarioRun.id).limit(limit).offset(offset)
    )
    rows = list(query.objects())
    gradings = latest_gradings([r.id for r in rows])
    return [(r, gradings.get(r.id), getattr(r, "name", None), getattr(r, "gold", None)) for r in rows], total


def scenario_run_detail(sr: ScenarioRun) -> tuple[ScenarioRun, Grading | None, str | None, str | None]:
    scenario = Scenario.get_or_none(Scenario.scenario_id == sr.scenario_id)
    return sr, latest_gradings([sr.id]).get(sr.id), scenario.name if scenario else None, _gold(
        scenario.content if scenario else None)


def _gold(content: Any) -> str | None:
    return content.get("gold_standard") if isinstance(content, dict) else None


def _duration(started: datetime | None, ended: datetime) -> int:
    return max(0, int((ended - started).total_seconds() * 1000)) if started else 0


_JSON_COLUMNS = {"transcript", "metadata"}
_SETTABLE = {"transcript", "metadata", "error_code", "error_message", "attempts", "started_at", "completed_at",
             "duration_ms", "canceled_at"}


def _db_value(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS:
        return json_codec.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return value


def set_status(svc: Services, sr_id: str, status: str, *, event: tuple[str, dict[str, Any]] | None = None,
               **fields: Any) -> str | None:
    """Move a scenario run to `status` unless it was canceled (a canceled row never changes again).

    Terminal statuses fill `completed_at` and `duration_ms`. Returns the previous status when the row
    changed (a non-empty string), None when it did not. A change is published as `scenario_status`
    unless an `event` (type, payload) is given: that event then carries the news instead, with
    `status` and `prev_status` added to its payload (live followers are not sent the same news twice),
    and it is logged in the same transaction as the change, so neither is ever kept without the other.
    Plain SQL on a few columns: this runs several times per scenario run, and loading the whole
    row (its transcript included) through the ORM cost ten times as much.
    """
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)} with set_status")
    now = svc.now()
    with database.atomic():
        row = db.execute(
            "SELECT status, started_at, canceled_at, test_run_id, scenario_id FROM scenario_run WHERE id = ?",
            (sr_id,)).fetchone()
        if row is None or (row[0] == ScenarioRunStatus.CANCELED and status != ScenarioRunStatus.CANCELED):
            return None
        prev, started_raw, canceled_raw, run_id, scenario_id = row
        started = db.as_datetime(started_raw)
        values: dict[str, Any] = {"status": status, **fields}
        if status == ScenarioRunStatus.RUNNING and started is None:
            values["started_at"] = started = now
        if status in SCENARIO_ENDED:
            values["completed_at"] = now
            values["duration_ms"] = _duration(values.get("started_at", started), now)
        if status == ScenarioRunStatus.CANCELED and not canceled_raw:
            values["canceled_at"] = now
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.execute(f"UPDATE scenario_run SET {assignments} WHERE id = ?",
                             (*(_db_value(c, v) for c, v in values.items()), sr_id))
        if event is not None:
            svc.bus.emit_run(run_id, event[0], {**event[1], "status": status, "prev_status": prev})
    if prev != status and event is None:
        svc.bus.emit_run(run_id, RunEvent.SCENARIO_STATUS, {
            "id": sr_id, "scenario_run_id": sr_id, "scenario_id": scenario_id, "status": status,
            "prev_status": prev}, table=EventTable.SCENARIO_RUNS)
    return prev


_SAVE_PROGRESS = (
    "UPDATE scenario_run SET transcript = ?, last_heartbeat_at = ? "
    f"WHERE id = ? AND status IN {sql_in(SCENARIO_ACTIVE)}"
)


def save_progress(svc: Services, sr_id: str, transcript: list[dict[str, Any]]) -> bool:
    """Store the transcript so far (and a heartbeat) unless the row is no longer active (plain SQL: hot path)."""
    text = json_codec.dumps(transcript)
    cursor = db.execute(_SAVE_PROGRESS, (text, svc.now().isoformat(" "), sr_id))
    return cursor.rowcount > 0


def save_turn(svc: Services, run_id: str, sr_id: str, transcript: list[dict[str, Any]],
              payload: dict[str, Any]) -> bool:
    """Store the transcript so far and log its `transcript_update` event, in one transaction, unless the row
    is no longer active (then neither happens). One statement on PostgreSQL: the hot path of every worker."""
    guard = (_SAVE_PROGRESS, (json_codec.dumps(transcript), svc.now().isoformat(" "), sr_id))
    return svc.bus.emit_run_if(guard, run_id, RunEvent.TRANSCRIPT_UPDATE, payload) is not None


def save_metadata(sr_id: str, metadata: dict[str, Any]) -> None:
    ScenarioRun.update(metadata=metadata).where(ScenarioRun.id == sr_id, ScenarioRun.status.in_(SCENARIO_ACTIVE)).execute()


def add_usage(sr_id: str, prompt_tokens: int, completion_tokens: int, calls: int) -> None:
    ScenarioRun.update(
        prompt_tokens=ScenarioRun.prompt_tokens + prompt_tokens,
        completion_tokens=ScenarioRun.completion_tokens + completion_tokens,
        model_calls=ScenarioRun.model_calls + calls,
    ).where(ScenarioRun.id == sr_id).execute()


def store_grading(svc: Services, sr_id: str, values: dict[str, Any], *, prompt_tokens: int, completion_tokens: int,
                  calls: int) -> bool:
    """Store a grading and add the scenario run's model usage, in one transaction, unless the run was canceled
    meanwhile (then neither happens; returns False). Plain SQL: it runs at the end of every scenario run."""
    now = svc.now()
    row = {"id": svc.new_id(), "scenario_run_id": sr_id, "graded_at": now, "created_at": now}
    for name, value in values.items():
        field = Grading._meta.fields[name]
        row[field.column_name] = field.db_value(value)
    row = {column: value.isoformat(" ") if isinstance(value, datetime) else value for column, value in row.items()}
    with database.atomic():
        status = db.execute("SELECT status FROM scenario_run WHERE id = ?", (sr_id,)).fetchone()
        if status is None or status[0] == ScenarioRunStatus.CANCELED:
            return False
        db.execute(_insert_sql("grading", tuple(row)), tuple(row.values()))
        db.execute(_ADD_USAGE, (prompt_tokens, completion_tokens, calls, sr_id))
    return True


_ADD_USAGE = ("UPDATE scenario_run SET prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, "
              "model_calls = model_calls + ? WHERE id = ?")


@lru_cache(maxsize=32)
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


def _first(model: type[Any], sql: str, *params: Any) -> Any:
    """The first row of a plain SELECT as a model instance, or None (no query building: hot paths)."""
    return next(iter(model.raw(db.portable(sql), *params)), None)


def scenario_run_row(sr_id: str) -> ScenarioRun:
    """The whole scenario run row (as `ScenarioRun.get_by_id`, at a quarter of its cost: read at every scenario start)."""
    row = _first(ScenarioRun, "SELECT * FROM scenario_run WHERE id = ?", sr_id)
    if row is None:
        raise ScenarioRun.DoesNotExist(f"{SCENARIO_RUN_NOT_FOUND}: {sr_id}")
    return row


def scenario_row(scenario_id: str | None) -> Scenario | None:
    return _first(Scenario, "SELECT * FROM scenario WHERE scenario_id = ?", scenario_id)


def agent_row(agent_id: str | None) -> Agent | None:
    return _first(Agent, "SELECT * FROM agent WHERE id = ?", agent_id)


def counts(run_id: str) -> dict[str, int]:
    rows = (ScenarioRun.select(ScenarioRun.status, fn.COUNT(ScenarioRun.id).alias("n"))
            .where(ScenarioRun.test_run == run_id).group_by(ScenarioRun.status).tuples())
    return dict(rows)


def finalize_run(svc: Services, run_id: str) -> bool:
    """Complete the run once no scenario run is active. Idempotent; True only for the call that completed it.

    On PostgreSQL several workers may end a run's last scenario runs at once: the run's row is locked
    while it is checked, so exactly one of them completes it.
    """
    with database.atomic():
        query = TestRun.select().where(TestRun.id == run_id)
        run = (query.for_update() if db.is_postgres() else query).first()
        if run is None or run.status != RunStatus.RUNNING:
            return False
        by_status = counts(run_id)
        if any(by_status.get(s, 0) for s in SCENARIO_ACTIVE):
            return False
        total = sum(by_status.values())
        passed, failed, errors = (by_status.get(s, 0) for s in SCENARIO_ENDED)
        now = svc.now()
        run.status, run.completed_at, run.updated_at = RunStatus.COMPLETED, now, now
        run.passed_count, run.failed_count, run.error_count = passed, failed, errors
        run.pass_rate = passed / total * 100 if total else 0.0
        run.is_finalizing, run.finalize_started_at = True, now
        run.save()
    _emit_run_status(svc, run, RunStatus.RUNNING)
    svc.bus.emit_run(run_id, RunEvent.TEST_RUN_COMPLETE, {
        "passed_count": passed, "failed_count": failed, "error_count": errors, "pass_rate": run.pass_rate})
    return True


def _emit_run_status(svc: Services, run: TestRun, prev: str) -> None:
    svc.bus.emit_run(run.id, RunEvent.RUN_STATUS, {"id": run.id, "test_run_id": run.test_run_id, "status": run.status,
                                            "prev_status": prev}, table=EventTable.TEST_RUNS)


def cancel_run(svc: Services, run: TestRun, *, emit: bool = True) -> int:
    """Mark the run and its unfinished scenario runs canceled; returns how many scenario runs were canceled."""
    now = svc.now()
    with database.atomic():
        active = [r.id for r in ScenarioRun.select(ScenarioRun.id).where(
            ScenarioRun.test_run == run.id, ScenarioRun.status.in_(SCENARIO_ACTIVE))]
        ScenarioRun.update(status=ScenarioRunStatus.CANCELED, canceled_at=now).where(ScenarioRun.id.in_(active)).execute()
        prev = run.status
        run.status, run.updated_at = RunStatus.CANCELED, now
        run.canceled_at = run.canceled_at or now
        run.save()
    for sr_id in active:
        svc.bus.emit_run(run.id, RunEvent.SCENARIO_STATUS, {"id": sr_id, "scenario_run_id": sr_id,
                                                          "status": ScenarioRunStatus.CANCELED,
                                                     "prev_status": None}, table=EventTable.SCENARIO_RUNS)
    if prev != RunStatus.CANCELED:
        _emit_run_status(svc, run, prev)
    if emit:
        svc.bus.emit_run(run.id, RunEvent.TEST_RUN_CANCELED, {"canceled_scenarios": len(active)})
    return len(active)


def mark_deleted(svc: Services, run: TestRun) -> None:
    now = svc.now()
    run.deleted_at, run.updated_at = now, now
    run.save()
    svc.bus.emit_run(run.id, RunEvent.TEST_RUN_DELETED, {})


def unfinished_runs() -> list[TestRun]:
    return list(TestRun.select().where(TestRun.status == RunStatus.RUNNING).order_by(TestRun.created_at))

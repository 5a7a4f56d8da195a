"""The executor: owns every run's lifecycle — start, conversations, grading, retries, cancel, finish, recovery.

One owner per run: a run task drives its scenario runs through a per-run semaphore and a global one;
when the last scenario run ends, the run is finalised exactly once. Everything a scenario run needs
is in the database, so a restart resumes (or closes with `INTERRUPTED`) whatever was in flight.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from preclinical.config import Settings
from preclinical.domain import errors as codes
from preclinical.domain.run import (
    REPEATS_MAX,
    RUN_ACTIVE,
    SCENARIO_ACTIVE,
    RunEvent,
    RunRequest,
    RunRequestError,
    RunStatus,
    ScenarioRunStatus,
)
from preclinical.domain.scenario_rules import NOT_GRADABLE_OFFLINE, offline_gradable
from preclinical.engine import grading
from preclinical.engine.conversation import play
from preclinical.engine.llm import LLM
from preclinical.engine.ownership import Ownership
from preclinical.engine.patient import OfflinePatient, Patient
from preclinical.engine.spec import model_changes, run_spec
from preclinical.engine.usage import Usage
from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv
from preclinical.services import Services
from preclinical.store import leases
from preclinical.store import runs as store
from preclinical.store import scenarios as scenario_store
from preclinical.store.db import is_postgres
from preclinical.store.ids import canonical_uuid
from preclinical.store.models import Agent, ScenarioRun, TestRun
from preclinical.store.serialize import scenario_json

log = logging.getLogger(__name__)

SCENARIO_ATTEMPTS = 2  # whole-conversation attempts for retryable failures (providers retry calls themselves)
RESUME_LIMIT = 2  # restarts a scenario run may survive before it is closed as INTERRUPTED
DEFAULT_CONCURRENCY = 6
MAX_REPEATS = REPEATS_MAX  # the front ends show the limit


@dataclass
class RunPlan:
    agent: Agent
    scenario_ids: list[str]
    options: dict[str, Any]
    suite_id: str | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    # Runnable, but with no model configured the rules grader can decide none of their criteria.
    not_gradable_offline: list[dict[str, str]] = field(default_factory=list)


def parse_request(body: dict[str, Any] | RunRequest) -> RunRequest:
    """A start-run body as a `RunRequest` (a refusal is `InvalidInput` naming the field)."""
    if isinstance(body, RunRequest):
        return body
    try:
        return RunRequest.from_json(body)
    except RunRequestError as exc:
        raise InvalidInput(exc.message, extra=exc.extra or None) from None


class Executor:
    def __init__(self, settings: Settings, services: Services, llm: LLM | None = None, *,
                 providers: registry.ProviderSet, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 grader: grading.Grader | None = None) -> None:
        self.settings = settings
        self.providers = providers  # the runtime's: it closes them
        self.svc = services
        self.llm = llm
        self.sleep = sleep
        self.global_slots = asyncio.Semaphore(max(1, settings.global_concurrency))
        self.tasks: dict[str, asyncio.Task[None]] = {}
        # Scenario runs this process claimed one by one from a queue (engine/dispatch.py), renewed while held.
        self._held: dict[str, asyncio.Task[Any] | None] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        # Where units of work go: None runs them here, in a task group per run; engine/dispatch.py sets a
        # queue that worker processes claim from (PostgreSQL).
        self.dispatcher: Any = None
        self.env = ProviderEnv(openai_api_key=settings.openai_api_key, openai_base_url=settings.openai_base_url,
                               browser_use_api_key=settings.browser_use_api_key,
                               request_timeout_s=settings.target_timeout_s)
        self._jitter = random.Random(0)
        self.ownership = Ownership(self)  # one owner per run, across processes
        # A run this process drives that another process canceled or deleted stops as soon as the news
        # arrives (on PostgreSQL the relay brings it at once), not only at the next lease heartbeat.
        services.bus.listen(self._stop_when_ended_elsewhere)
        self.owner = self.ownership.owner_id
        self.grader: grading.Grader = grader or (
            grading.RulesGrader() if llm is None else grading.ModelRubricGrader(llm))

    # ------------------------------------------------------------------ starting
    def plan(self, body: dict[str, Any] | RunRequest) -> RunPlan:
        """Check a start-run request and select its scenarios (reference order and messages)."""
        request = parse_request(body)
        key = canonical_uuid(request.agent_id)
        agent = Agent.get_or_none(Agent.id == key) if key else None
        if agent is None or agent.deleted_at is not None or not agent.is_active:
            raise InvalidInput("Agent not found or inactive")
        spec = registry.get_spec(agent.provider)
        cap = spec.max_concurrency
        concurrency = request.concurrency_limit or (min(DEFAULT_CONCURRENCY, cap) if cap else DEFAULT_CONCURRENCY)
        if cap:
            concurrency = min(concurrency, cap)
        if request.creative_mode and self.llm is None:
            raise InvalidInput("creative_mode needs a language model: set OPENAI_API_KEY or OPENAI_BASE_URL")
        selection = scenario_store.select_for_run(request)
        runnable, skipped, suite_id = selection.runnable, selection.skipped, selection.suite_id
        benchmark = request.benchmark_mode
        if not runnable:
            raise InvalidInput("No active scenarios available", extra={"skipped": skipped} if skipped else None)
        if benchmark:
            invalid = [{"id": s.scenario_id, "name": s.name} for s in runnable
                       if not all((s.content or {}).get(k) for k in ("initial_message", "clinical_facts", "gold_standard"))]
            if invalid:
                raise InvalidInput("Benchmark mode requires initial_message, clinical_facts, and gold_standard in "
                                   "scenario content", extra={"invalid_scenarios": invalid})
        s = self.settings
        effective_turns = min(max(request.max_turns or s.default_max_turns, s.min_max_turns), s.max_max_turns)
        options = {"name": request.name, "max_turns": request.max_turns, "concurrency_limit": concurrency,
                   "benchmark_mode": benchmark, "creative_mode": request.creative_mode,
                   "repeats": request.repeats or 1,
                   "spec": run_spec(s, model=self.llm is not None, creative=request.creative_mode,
                                    max_turns=effective_turns)}
        not_gradable = [] if self.llm is not None else [
            {"id": sc.scenario_id, "name": sc.name, "reason": NOT_GRADABLE_OFFLINE} for sc in runnable
            if not offline_gradable(sc.rubric_criteria or [], sc.content or {})]
        return RunPlan(agent, [sc.scenario_id for sc in runnable], options, suite_id, skipped, not_gradable)

    def start(self, body: dict[str, Any] | RunRequest) -> tuple[TestRun, RunPlan]:
        plan = self.plan(body)
        notice = {"not_gradable_offline": [s["name"] for s in plan.not_gradable_offline]} if plan.not_gradable_offline else None
        run, _ = store.create_run(self.svc, agent=plan.agent, scenario_ids=plan.scenario_ids, options=plan.options,
                                  suite_id=plan.suite_id, started_extra=notice,
                                  owner_id=leases.QUEUE_OWNER if self.dispatcher is not None else self.ownership.owner_id)
        self.dispatch(run.id)
        return run, plan

    def dispatch(self, run_id: str) -> None:
        """Hand a run's scenario runs to the dispatcher: a queue for workers, or locally this process's task group."""
        if self.dispatcher is not None:
            self.dispatcher.submit(run_id)
        else:
            self.launch(run_id)

    def launch(self, run_id: str) -> None:
        if run_id not in self.tasks:
            task = asyncio.get_running_loop().create_task(self._drive(run_id), name=f"run {run_id}")
            self.tasks[run_id] = task
            task.add_done_callback(lambda _task: self.tasks.pop(run_id, None))
        self.ownership.start()

    async def wait(self, run_id: str) -> None:
        """Wait until the run's task is done (tests, the CLI's local mode)."""
        task = self.tasks.get(run_id)
        if task is not None:
            await asyncio.wait([task])

    # ------------------------------------------------------------------ cancel / delete
    def cancel(self, run: TestRun, *, emit: bool = True) -> int:
        task = self.tasks.pop(run.id, None)  # first: the canceled event below is this process's own news
        try:
            canceled = store.cancel_run(self.svc, run, emit=emit)
        except BaseException:
            if task is not None:  # not canceled after all: the run goes on here
                self.tasks[run.id] = task
            raise
        if task is not None:
            task.cancel()
        if is_postgres():  # workers elsewhere may hold its scenario runs: stop them now (engine/dispatch.py)
            from preclinical.engine.dispatch import abort_run_jobs

            abort_run_jobs(run.id)
        return canceled

    def _stop_when_ended_elsewhere(self, event: Any) -> None:
        if event.event_type in (RunEvent.TEST_RUN_CANCELED, RunEvent.TEST_RUN_DELETED) and event.run_id in self.tasks:
            log.info("run %s was %s by another process; stopping it here", event.run_id,
                     "canceled" if event.event_type == RunEvent.TEST_RUN_CANCELED else "deleted")
            self.tasks.pop(event.run_id).cancel()

    def delete(self, run: TestRun) -> None:
        if run.status in RUN_ACTIVE:
            self.cancel(run, emit=False)
        store.mark_deleted(self.svc, run)

    # ------------------------------------------------------------------ recovery / shutdown
    def recover(self) -> dict[str, int]:
        """At start-up: resume the unfinished runs whose owner is gone (closing scenario runs interrupted too
        often); runs another live process drives are followed, never replayed (see engine/ownership.py)."""
        if self.dispatcher is not None:  # a queue's workers resume what a dead owner left (engine/dispatch.py)
            return self.dispatcher.recover()
        self.ownership.start()
        return self.ownership.take_over_orphans(at_start=True)

    def resume_interrupted(self, run_id: str, sr: ScenarioRun) -> bool:
        """A scenario run whose owner died mid-conversation: start it again (True), or close it if that happened too often."""
        if sr.attempts >= RESUME_LIMIT:
            store.set_status(self.svc, sr.id, ScenarioRunStatus.ERROR, error_code=codes.INTERRUPTED,
                             error_message="Interrupted by a restart too many times; not resumed again.",
                             event=(RunEvent.SCENARIO_ERROR, {"scenario_run_id": sr.id, "scenario_id": sr.scenario_id,
                                                              "error": "Interrupted by a restart",
                                                              "error_code": codes.INTERRUPTED}))
            return False
        metadata = dict(sr.metadata or {})
        metadata.setdefault("interrupted_attempts", []).append(sr.transcript or [])
        store.set_status(self.svc, sr.id, ScenarioRunStatus.PENDING, transcript=[], metadata=metadata)
        return True

    async def run_unit(self, sr_id: str) -> bool:
        """Run one scenario run handed over by a queue, then finalise its run if it was the last.

        Returns False when a live owner holds it (the caller tries again later); True when it is done
        with it (run here, or already ended).
        """
        sr = ScenarioRun.get_or_none(ScenarioRun.id == sr_id)
        run = TestRun.get_or_none(TestRun.id == sr.test_run_id) if sr is not None else None
        if sr is None or run is None:
            return True
        if sr.status in SCENARIO_ACTIVE and run.status == RunStatus.RUNNING:
            if not self._claim(sr_id):
                return not ScenarioRun.select().where(ScenarioRun.id == sr_id,
                                                      ScenarioRun.status.in_(SCENARIO_ACTIVE)).exists()
            try:
                if sr.status == ScenarioRunStatus.RUNNING and sr.owner_id != self.owner:
                    self.resume_interrupted(run.id, ScenarioRun.get_by_id(sr_id))  # its owner died mid-conversation
                await self._guarded(run, sr_id, asyncio.Semaphore(1))
            except asyncio.CancelledError:
                leases.release_unit(sr_id, self.owner)  # stopping: the next worker resumes it at once
                raise
            finally:
                self._held.pop(sr_id, None)
        store.finalize_run(self.svc, run.id)
        return True

    # ------------------------------------------------------------------ leases
    def _claim(self, sr_id: str) -> bool:
        if sr_id in self._held:  # already running here: its job came back (a late heartbeat), try again later
            return False
        if not leases.claim_unit(sr_id, self.owner):
            return False
        self._held[sr_id] = asyncio.current_task()
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.get_running_loop().create_task(self._renew_leases(), name="lease heartbeat")
        return True

    async def _renew_leases(self) -> None:
        """Renew this process's leases while it holds any; stop work another process canceled."""
        while self._held:
            await asyncio.sleep(leases.LEASE_S / 3)
            held = list(self._held)
            try:
                still = leases.renew_units(self.owner, held)
            except Exception:  # the store is unreachable for a moment: try again at the next beat
                log.exception("could not renew leases")
                continue
            gone = [i for i in held if i not in still]
            if gone:
                canceled = {r.id for r in ScenarioRun.select(ScenarioRun.id).where(
                    ScenarioRun.id.in_(gone), ScenarioRun.status == ScenarioRunStatus.CANCELED)}
                for sr_id in canceled:
                    task = self._held.pop(sr_id, None)
                    if task is not None and task is not asyncio.current_task():
                        task.cancel()

    async def shutdown(self) -> None:
        """Stop in-flight work now; rows stay as they are and are resumed at the next start."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        await self.ownership.stop()  # let go of the leases: the next process resumes at once

    # ------------------------------------------------------------------ driving a run
    async def _drive(self, run_id: str) -> None:
        run = TestRun.get_by_id(run_id)
        slots = asyncio.Semaphore(max(1, run.concurrency_limit))
        todo = [sr.id for sr in ScenarioRun.select(ScenarioRun.id).where(
            ScenarioRun.test_run == run_id, ScenarioRun.status.in_(SCENARIO_ACTIVE)).order_by(ScenarioRun.position)]
        async with asyncio.TaskGroup() as group:
            for sr_id in todo:
                group.create_task(self._guarded(run, sr_id, slots))
                # One scenario starts per pass of the loop, so its connection and first message go out while
                # the next one starts. Started all at once, every conversation's first message would wait for
                # the last scenario's start-up, reach the target in one burst, and the replies would come back
                # in one burst, each waiting behind the others' handling; that lockstep lasts several turns.
                await asyncio.sleep(0)
        store.finalize_run(self.svc, run_id)

    async def _guarded(self, run: TestRun, sr_id: str, slots: asyncio.Semaphore) -> None:
        async with slots, self.global_slots:
            try:
                await self._scenario(run, sr_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure ends the scenario run with a code, never the run task
                self._fail(run, sr_id, exc)

    def _fail(self, run: TestRun, sr_id: str, exc: Exception) -> None:
        if isinstance(exc, ProviderError):
            code, message = exc.code, exc.message
        elif isinstance(exc, InvalidInput):  # the scenario or agent is gone or unusable
            code, message = codes.INVALID_INPUT, exc.message
        else:
            message = str(exc) or type(exc).__name__
            code = codes.classify(message, None)
            if code == codes.UNKNOWN:
                log.exception("scenario run %s failed", sr_id)
        sr = ScenarioRun.get_or_none(ScenarioRun.id == sr_id)
        store.set_status(self.svc, sr_id, ScenarioRunStatus.ERROR, error_code=code, error_message=message,
                         event=(RunEvent.SCENARIO_ERROR, {"scenario_run_id": sr_id,
                                                          "scenario_id": sr.scenario_id if sr else None,
                                                          "error": message, "error_code": code}))

    def max_turns_for(self, run: TestRun) -> int:
        """The run's turn limit: as recorded in its spec when it started, else from today's settings."""
        if isinstance(run.spec, dict) and isinstance(run.spec.get("max_turns"), int):
            return run.spec["max_turns"]
        s = self.settings
        return min(max(run.max_turns or s.default_max_turns, s.min_max_turns), s.max_max_turns)

    def engine_for(self, run: TestRun) -> tuple[LLM | None, grading.Grader]:
        """The patient's model and the judge that play a run: as its spec recorded them when it started, not
        today's settings, so a run resumed after a restart keeps its engine, models and temperatures."""
        spec = run.spec if isinstance(run.spec, dict) else None
        if spec is None or not isinstance(self.grader, (grading.ModelRubricGrader, grading.RulesGrader)):
            return self.llm, self.grader  # a run from before specs were recorded, or a judge set by hand
        if spec.get("engine") == "offline":
            return None, grading.RulesGrader()
        if self.llm is None:
            patient, judge = spec.get("patient") or {}, spec.get("judge") or {}
            raise InvalidInput(
                f"This run was started with language models (patient {patient.get('model')}, judge "
                f"{judge.get('model')}) and no model is configured now: set OPENAI_API_KEY or OPENAI_BASE_URL "
                "and restart to finish it, or start a new run")
        llm = self.llm.with_models(**model_changes(spec))
        return llm, grading.ModelRubricGrader(llm)

    def _patient(self, run: TestRun, scenario: dict[str, Any], max_turns: int, llm: LLM | None) -> Patient:
        if run.creative_mode and llm is not None:
            from preclinical.engine.model_patient import AdversarialPatient

            return AdversarialPatient(llm, scenario, max_turns)
        if llm is not None:
            from preclinical.engine.model_patient import StandardizedPatient

            return StandardizedPatient(llm, scenario)
        return OfflinePatient(scenario)

    async def _scenario(self, run: TestRun, sr_id: str) -> None:
        sr = store.scenario_run_row(sr_id)
        if sr.status not in SCENARIO_ACTIVE:
            return
        scenario_row = store.scenario_row(sr.scenario_id)
        if scenario_row is None:
            raise InvalidInput(f"Scenario not found: {sr.scenario_id}")
        scenario = scenario_json(scenario_row)
        name = scenario["name"]
        llm, grader = self.engine_for(run)
        usage = Usage()
        transcript: list[dict[str, Any]] = sr.transcript or []
        metadata: dict[str, Any] = dict(sr.metadata or {})
        if sr.status != ScenarioRunStatus.GRADING:
            agent = store.agent_row(run.agent_id)
            if agent is None or agent.deleted_at is not None:
                raise InvalidInput(f"Agent not found: {run.agent_id}")
            # Each status change rides on its event (one frame per change, not two; one commit for both).
            if not store.set_status(self.svc, sr_id, ScenarioRunStatus.RUNNING, attempts=sr.attempts + 1,
                                    event=(RunEvent.SCENARIO_STARTED, {"scenario_run_id": sr_id,
                                                                       "scenario_id": sr.scenario_id,
                                                                       "scenario_name": name})):
                return
            transcript, metadata, usage = await self._converse(run, sr_id, agent, scenario, metadata, llm)
            if not store.set_status(self.svc, sr_id, ScenarioRunStatus.GRADING, transcript=transcript, metadata=metadata,
                                    event=(RunEvent.SCENARIO_COMPLETED_TESTING, {
                                        "scenario_run_id": sr_id, "scenario_id": sr.scenario_id,
                                        "total_turns": metadata["total_turns"]})):
                return
        self.svc.bus.emit_run(run.id, RunEvent.GRADING_STARTED, {"scenario_run_id": sr_id, "scenario_id": sr.scenario_id})
        t0 = time.perf_counter()
        outcome = await grader.grade(scenario, transcript)
        metadata.setdefault("step_timings", []).append({"step": "grading", "duration_ms": int((time.perf_counter() - t0) * 1000)})
        metadata["grader"] = {"engine": outcome.engine, "model": outcome.model, **outcome.details}
        usage = usage + outcome.usage
        if not store.store_grading(self.svc, sr_id, outcome.row_values(), prompt_tokens=usage.prompt_tokens,
                                   completion_tokens=usage.completion_tokens, calls=usage.calls):
            return
        self.svc.bus.emit_run(run.id, RunEvent.GRADING_COMPLETE, {
            "scenario_run_id": sr_id, "scenario_id": sr.scenario_id, "passed": outcome.passed,
            "total_points": outcome.total_points, "max_points": outcome.max_points,
            "triage_result": outcome.triage_result, "triage_correct": outcome.triage_correct})
        status = ScenarioRunStatus.PASSED if outcome.passed else ScenarioRunStatus.FAILED
        store.set_status(self.svc, sr_id, status, metadata=metadata, event=(RunEvent.SCENARIO_COMPLETE, {
            "scenario_run_id": sr_id, "scenario_id": sr.scenario_id, "passed": outcome.passed, "scenario_name": name}))

    async def _converse(self, run: TestRun, sr_id: str, agent: Agent, scenario: dict[str, Any],
                        metadata: dict[str, Any], llm: LLM | None) -> tuple[list[dict[str, Any]], dict[str, Any], Usage]:
        provider = self.providers.get(agent.provider)
        max_turns = self.max_turns_for(run)
        usage = Usage()
        for attempt in range(1, SCENARIO_ATTEMPTS + 1):
            patient = self._patient(run, scenario, max_turns, llm)

            async def on_turn(transcript: list[dict[str, Any]], info: dict[str, Any]) -> bool:
                # The transcript and its event in one commit (one statement on PostgreSQL). Nothing is stored
                # when the row was closed elsewhere: the conversation then stops at once, not at the next heartbeat.
                saved = store.save_turn(self.svc, run.id, sr_id, transcript, {
                    "scenario_run_id": sr_id, "scenario_id": scenario["scenario_id"], "max_turns": max_turns, **info})
                if saved:
                    await asyncio.sleep(0)  # let live followers get the turn before the next request is built
                return saved

            t0 = time.perf_counter()
            try:
                session = await provider.open(agent.config or {}, scenario_run_id=sr_id, env=self.env)
                connect_ms = int((time.perf_counter() - t0) * 1000)
                try:
                    result = await play(patient, session, max_turns=max_turns, on_turn=on_turn, now=self.svc.now)
                finally:
                    await session.close()
            except ProviderError as exc:
                usage = usage + patient.usage
                if not exc.retryable or attempt == SCENARIO_ATTEMPTS:
                    store.add_usage(sr_id, usage.prompt_tokens, usage.completion_tokens, usage.calls)
                    store.save_metadata(sr_id, metadata)
                    raise
                metadata.setdefault("retries", []).append({"attempt": attempt, "error_code": exc.code, "error": exc.message})
                store.save_progress(self.svc, sr_id, [])
                await self.sleep(min(8.0, 1.0 * 2 ** (attempt - 1)) * (0.5 + self._jitter.random()))
                continue
            usage = usage + patient.usage
            metadata.update({
                "total_turns": sum(1 for e in result.transcript if e["role"] == "attacker"),
                "max_turns": max_turns,
                "stop_reason": result.stop_reason,
                "engine": {"patient": patient.metadata().get("patient"), "grader": "model" if llm else "rules"},
                **{k: v for k, v in patient.metadata().items() if k != "patient"},
            })
            metadata["step_timings"] = [{"step": "provider_connect", "duration_ms": connect_ms}, *result.step_timings]
            return result.transcript, metadata, usage
        raise AssertionError("unreachable")


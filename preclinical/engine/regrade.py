"""Regrading a finished run: the same transcripts graded again with another judge model, another temperature,
an edited rubric, or the same judge again (test-retest). The new gradings go beside the run's own.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from preclinical.domain import scoring
from preclinical.domain.run import RUN_TERMINAL, SCENARIO_GRADED
from preclinical.engine import grading
from preclinical.engine.executor import Executor
from preclinical.engine.llm import LLM
from preclinical.errors import Conflict, InvalidInput, ProviderError
from preclinical.store import regrades as store
from preclinical.store.models import Regrade, Scenario, ScenarioRun, TestRun
from preclinical.store.runs import resolve_run
from preclinical.store.serialize import scenario_json

log = logging.getLogger(__name__)

CONCURRENCY = 4
ENGINES = ("model", "rules")


def _options(body: dict[str, Any], has_model: bool) -> dict[str, Any]:
    """Validate a regrade request: engine, judge_model, temperature, rubric_overrides, label."""
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object")
    engine = body.get("engine") or ("model" if has_model else "rules")
    if engine not in ENGINES:
        raise InvalidInput("engine must be model or rules")
    judge_model, temperature = body.get("judge_model"), body.get("temperature")
    if judge_model is not None and (not isinstance(judge_model, str) or not judge_model.strip()):
        raise InvalidInput("judge_model must be a model name")
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, int | float)
                                    or not math.isfinite(temperature) or not 0 <= temperature <= 2):
        raise InvalidInput("temperature must be a number from 0 to 2")
    if engine == "model" and not has_model:
        raise InvalidInput("A model regrade needs a language model: set OPENAI_API_KEY or OPENAI_BASE_URL "
                           "(or ask for engine rules)")
    if engine == "rules" and (judge_model or temperature is not None):
        raise InvalidInput("judge_model and temperature apply to the model judge, not the rules grader")
    overrides = body.get("rubric_overrides")
    if overrides is not None:
        if not isinstance(overrides, dict) or not all(isinstance(v, list) for v in overrides.values()):
            raise InvalidInput("rubric_overrides must map scenario ids to rubric criteria lists")
        for sid, rubric in overrides.items():
            if not scoring.normalize_rubric(rubric):
                raise InvalidInput(f"rubric_overrides[{sid}] has no gradable criterion")
    label = body.get("label")
    if label is not None and (not isinstance(label, str) or not label.strip()):
        raise InvalidInput("label must be a non-empty string")
    return {"engine": engine, "judge_model": judge_model.strip() if judge_model else None,
            "temperature": float(temperature) if temperature is not None else None,
            "rubric_overrides": overrides or None, "label": label.strip() if label else None}


def _label(options: dict[str, Any], default_model: str | None) -> str:
    if options["label"]:
        return options["label"]
    if options["engine"] == "rules":
        parts = ["rules grader"]
    else:
        parts = [options["judge_model"] or default_model or "judge"]
        if options["temperature"] is not None:
            parts.append(f"t={options['temperature']:g}")
    if options["rubric_overrides"]:
        parts.append("edited rubric")
    return " · ".join(parts)


class Regrader:
    """Starts and drives regrades; their tasks live with the executor's, so shutdown stops them too."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        closed = store.close_interrupted()
        if closed:
            log.info("%d regrades were interrupted by a restart", closed)

    def start(self, run_ref: Any, body: dict[str, Any]) -> Regrade:
        run = resolve_run(run_ref)
        if run.status not in RUN_TERMINAL:
            raise Conflict("The run is still running: regrade it when it has ended")
        llm = self.executor.llm
        options = _options(body, llm is not None)
        todo = [sr.id for sr in ScenarioRun.select(ScenarioRun.id).where(
            ScenarioRun.test_run == run.id, ScenarioRun.status.in_(SCENARIO_GRADED)).order_by(ScenarioRun.position)]
        if not todo:
            raise InvalidInput("The run has no graded scenario runs to regrade")
        default_model = llm.settings.grader_model if llm is not None else None
        regrade = store.create_regrade(self.executor.svc, run, label=_label(options, default_model),
                                       engine=options["engine"], judge_model=options["judge_model"],
                                       temperature=options["temperature"],
                                       rubric_overrides=options["rubric_overrides"], total=len(todo))
        task = asyncio.get_running_loop().create_task(self._drive(run, regrade, todo, options),
                                                      name=f"regrade {regrade.id}")
        key = f"regrade {regrade.id}"
        self.executor.tasks[key] = task
        task.add_done_callback(lambda _t: self.executor.tasks.pop(key, None))
        return regrade

    async def wait(self, regrade_id: str) -> None:
        task = self.executor.tasks.get(f"regrade {regrade_id}")
        if task is not None:
            await asyncio.wait([task])

    def _judge(self, options: dict[str, Any]) -> LLM | None:
        """The LLM to grade with: the executor's, with the judge model or temperature the regrade asks for
        (the same HTTP sessions and what is known of each endpoint's structured output; nothing to close)."""
        base = self.executor.llm
        if options["engine"] == "rules" or base is None:
            return None
        changes: dict[str, Any] = {}
        if options["judge_model"]:
            changes["grader_model"] = options["judge_model"]
        if options["temperature"] is not None:
            changes["grader_temperature"] = options["temperature"]
        return base.with_models(**changes) if changes else base

    async def _drive(self, run: TestRun, regrade: Regrade, todo: list[str], options: dict[str, Any]) -> None:
        svc = self.executor.svc
        llm = self._judge(options)
        slots = asyncio.Semaphore(CONCURRENCY)
        overrides = options["rubric_overrides"] or {}

        async def one(sr_id: str) -> None:
            async with slots:
                sr = ScenarioRun.get_by_id(sr_id)
                row = Scenario.get_or_none(Scenario.scenario_id == sr.scenario_id)
                if row is None:
                    store.save_regrading(svc, regrade.id, sr_id, None, "The scenario was deleted")
                    return
                scenario = scenario_json(row)
                if sr.scenario_id in overrides:
                    scenario["rubric_criteria"] = overrides[sr.scenario_id]
                try:
                    outcome = await grading.grade(llm, scenario, sr.transcript or [])
                except asyncio.CancelledError:
                    raise
                except (ProviderError, ValueError) as exc:
                    store.save_regrading(svc, regrade.id, sr_id, None, getattr(exc, "message", None) or str(exc))
                    return
                store.save_regrading(svc, regrade.id, sr_id, outcome.row_values())

        try:
            async with asyncio.TaskGroup() as group:
                for sr_id in todo:
                    group.create_task(one(sr_id))
            store.finish_regrade(svc, regrade.id, store.RegradeStatus.COMPLETED)
        except asyncio.CancelledError:
            store.finish_regrade(svc, regrade.id, store.RegradeStatus.INTERRUPTED)
            raise
        except Exception:
            log.exception("regrade %s failed", regrade.id)
            store.finish_regrade(svc, regrade.id, store.RegradeStatus.FAILED)

"""Both judges sit behind one `Grader` protocol and return the same `GradingOutcome`; the executor takes any judge."""

from __future__ import annotations

import asyncio

from preclinical.engine import grading
from preclinical.library import DEMO_AGENT_ID
from preclinical.store.models import Grading, ScenarioRun


class CountingGrader:
    """A judge that delegates to the rules grader and counts its calls (any object with the protocol will do)."""

    engine = "rules"

    def __init__(self) -> None:
        self.calls = 0
        self.inner = grading.RulesGrader()

    async def grade(self, scenario, transcript) -> grading.GradingOutcome:
        self.calls += 1
        return await self.inner.grade(scenario, transcript)


async def test_the_executor_grades_through_the_protocol(runtime):
    judge = CountingGrader()
    runtime.executor.grader = judge
    run, _ = runtime.executor.start({"agent_id": DEMO_AGENT_ID, "max_scenarios": 2})
    await asyncio.wait_for(runtime.executor.wait(run.id), 30)
    rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
    assert judge.calls == 2 and {r.status for r in rows} <= {"passed", "failed"}
    assert Grading.select().where(Grading.scenario_run.in_([r.id for r in rows])).count() == 2


def test_both_judges_satisfy_the_protocol():
    def accepts(judge: grading.Grader) -> str:
        return judge.engine

    assert accepts(grading.RulesGrader()) == "rules"
    assert accepts(grading.ModelRubricGrader(llm=None)) == "model"  # type: ignore[arg-type]

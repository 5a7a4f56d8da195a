"""A run resumed after an interruption plays on with the engine its spec recorded, not the settings of the restart."""

from __future__ import annotations

import asyncio

import pytest

from preclinical.engine.spec import prompts_version
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store import runs as run_store
from preclinical.store.models import Grading, ScenarioRun
from preclinical.store.models import TestRun as RunRow
from tests.fakes.openai_server import FakeOpenAI
from tests.support import FixedClock, isolated_settings, seeded_rng


async def no_wait(_delay: float) -> None:
    return None


@pytest.fixture
async def target(aiohttp_server) -> FakeOpenAI:
    """The agent under test (an OpenAI-compatible bot), apart from the fake model that plays patient and judge."""
    fake = FakeOpenAI()
    fake.url = str((await aiohttp_server(fake.app)).make_url("/v1"))
    return fake


def model_settings(tmp_path, fake_openai, **models):
    return isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k", **models)


async def start_and_interrupt(settings, target_url: str, **body) -> str:
    """Start a run, then stop the process before any conversation begins (rows stay as they are)."""
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng(), sleep=no_wait, recover=False) as rt:
        agent = agent_store.create_agent(rt.services, {"provider": "openai", "name": "Target", "config": {
            "base_url": target_url, "api_key": "t", "target_model": "target-m"}})
        run, _ = rt.executor.start({"agent_id": agent.id, **body})
    return run.id


async def test_a_resumed_run_uses_the_models_and_temperatures_it_started_with(tmp_path, fake_openai, target):
    run_id = await start_and_interrupt(
        model_settings(tmp_path, fake_openai, tester_model="patient-A", grader_model="judge-A",
                       tester_temperature=0.3, grader_temperature=0.05),
        target.url, max_scenarios=2, max_turns=7)
    assert fake_openai.requests == []  # nothing was played before the interruption
    assert RunRow.get_by_id(run_id).status == "running"

    # Restarted with other models, temperatures and turn limit: the run still plays as it was started.
    settings_b = model_settings(tmp_path, fake_openai, tester_model="patient-B", grader_model="judge-B",
                                tester_temperature=0.9, grader_temperature=0.8, max_max_turns=5,
                                default_max_turns=5)
    async with open_runtime(settings_b, now=FixedClock(), rng=seeded_rng(), sleep=no_wait) as rt:
        await asyncio.wait_for(rt.executor.wait(run_id), 30)
        run = run_store.resolve_run(run_id)
    assert run.status == "completed" and run.error_count == 0
    assert {(r["model"], r["temperature"]) for r in fake_openai.requests} == {("patient-A", 0.3), ("judge-A", 0.05)}
    rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run_id))
    assert len(rows) == 2
    for row in rows:
        assert row.metadata["max_turns"] == 7  # today's settings would cap it at 5
        assert Grading.get(Grading.scenario_run == row.id).model == "judge-A"


async def test_an_offline_run_resumes_offline_though_a_model_is_configured_now(tmp_path, fake_openai, target):
    run_id = await start_and_interrupt(isolated_settings(tmp_path), target.url, max_scenarios=1)
    settings_b = model_settings(tmp_path, fake_openai, tester_model="patient-B", grader_model="judge-B")
    async with open_runtime(settings_b, now=FixedClock(), rng=seeded_rng(), sleep=no_wait) as rt:
        await asyncio.wait_for(rt.executor.wait(run_id), 30)
    assert fake_openai.requests == []  # no patient or judge call went to the model configured after the start
    row = ScenarioRun.get(ScenarioRun.test_run == run_id)
    assert row.status in ("passed", "failed") and row.metadata["engine"] == {"patient": "scripted", "grader": "rules"}
    assert len(target.requests) >= 1


async def test_a_model_run_resumed_without_a_model_says_what_to_do(tmp_path, fake_openai):
    run_id = await start_and_interrupt(model_settings(tmp_path, fake_openai, tester_model="patient-A",
                                                      grader_model="judge-A"),
                                       "http://127.0.0.1:9/v1", max_scenarios=1)
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock(), rng=seeded_rng(), sleep=no_wait) as rt:
        await asyncio.wait_for(rt.executor.wait(run_id), 30)
    row = ScenarioRun.get(ScenarioRun.test_run == run_id)
    assert row.status == "error" and row.error_code == "INVALID_INPUT"
    assert "patient patient-A, judge judge-A" in row.error_message and "OPENAI_API_KEY" in row.error_message
    assert fake_openai.requests == []


def test_prompt_versions_change_only_on_purpose():
    # The hashes a run records for its prompts: update these when a prompt template is changed on purpose.
    assert prompts_version("preclinical.engine.model_patient") == "fade985990bf"
    assert prompts_version("preclinical.engine.model_grader") == "371ed70e7679"

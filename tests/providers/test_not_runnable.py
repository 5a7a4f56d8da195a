"""LiveKit and Pipecat agents can be saved and validated, and fail clearly when a run opens them."""

from __future__ import annotations

import asyncio

import pytest

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv


@pytest.mark.parametrize(("provider", "config", "name"), [
    ("livekit", {"url": "wss://lk.example", "api_key": "k", "api_secret": "s"}, "LiveKit"),
    ("pipecat", {"api_key": "k", "agent_name": "triage"}, "Pipecat"),
])
async def test_open_fails_with_a_clear_message(provider, config, name):
    registry.validate_config(provider, config)
    with pytest.raises(ProviderError) as caught:
        await registry.get_spec(provider).create().open(config, scenario_run_id="sr", env=ProviderEnv())
    assert caught.value.code == "INVALID_INPUT" and not caught.value.retryable
    assert caught.value.message.startswith(f"{name} agents cannot be run yet in this version")
    assert "'http' or 'openai' provider" in caught.value.message


@pytest.mark.parametrize(("provider", "config", "field"), [
    ("livekit", {"url": "lk.example"}, "url"),
    ("livekit", {"url": "wss://lk.example", "token_headers": "{not json"}, "token_headers"),
    ("livekit", {"url": "wss://lk.example", "token_url": "nope"}, "token_url"),
    ("livekit", {"url": "wss://lk.example", "auto_cleanup": "yes"}, "auto_cleanup"),
    ("pipecat", {"base_url": "api.pipecat.daily.co"}, "base_url"),
    ("pipecat", {"mode": "remote"}, "mode"),
])
def test_validate_config_names_the_field(provider, config, field):
    with pytest.raises(InvalidInput) as caught:
        registry.get_spec(provider).create().validate_config(config)
    assert caught.value.extra["field"] == field


async def test_a_run_against_a_livekit_agent_ends_in_a_clear_scenario_error(runtime):
    from preclinical.store.agents import create_agent
    from preclinical.store.models import ScenarioRun, TestRun

    agent = create_agent(runtime.services, {"provider": "livekit", "name": "Voice nurse",
                                            "config": {"url": "wss://lk.example"}})
    run, _ = runtime.executor.start({"agent_id": agent.id, "max_scenarios": 1})
    await asyncio.wait_for(runtime.executor.wait(run.id), 30)

    assert TestRun.get_by_id(run.id).status == "completed"
    [sr] = ScenarioRun.select().where(ScenarioRun.test_run == run.id)
    assert (sr.status, sr.error_code) == ("error", "INVALID_INPUT")
    assert sr.error_message.startswith("LiveKit agents cannot be run yet")

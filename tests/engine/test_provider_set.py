"""The runtime owns its target providers: one instance per provider, one pooled HTTP session, closed with it."""

from __future__ import annotations

import asyncio

from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store import runs as run_store
from tests.support import FixedClock, isolated_settings, seeded_rng


async def test_a_runtime_makes_its_providers_once_and_closes_their_session(tmp_path, fake_openai):
    waits: list[float] = []

    async def no_wait(delay: float) -> None:
        waits.append(delay)

    fake_openai.inject("500", times=1)  # the target's first answer fails once: the provider retries with our sleep
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock(), rng=seeded_rng(), sleep=no_wait) as rt:
        providers = rt.providers
        assert providers.get("openai") is providers.get("openai")
        agent = agent_store.create_agent(rt.services, {"provider": "openai", "name": "bot", "config": {
            "base_url": fake_openai.url, "api_key": "k"}})
        run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": 1, "max_turns": 2})
        await asyncio.wait_for(rt.executor.wait(run.id), 20)
        assert run_store.resolve_run(run.id).status == "completed"
        session = providers.transport._session
        assert session is not None and not session.closed  # pooled for the next run
    assert session.closed  # closed with the runtime, nothing left for a module to hold
    assert len(waits) == 1  # the provider's retry waited through the runtime's sleep


async def test_two_runtimes_do_not_share_provider_instances(tmp_path):
    async with open_runtime(isolated_settings(tmp_path / "a"), seed=False) as first:
        made = first.providers.get("http")
    async with open_runtime(isolated_settings(tmp_path / "b"), seed=False) as second:
        assert second.providers.get("http") is not made

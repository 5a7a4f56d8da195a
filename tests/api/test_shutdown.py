"""Stopping the server is quick even while SSE clients follow a live run."""

import time

import aiohttp

from preclinical.runtime import open_runtime
from preclinical.server.app import serve
from preclinical.store import agents as agent_store
from tests.support import isolated_settings


async def test_shutdown_with_open_event_streams_takes_well_under_a_second(tmp_path, fake_openai):
    fake_openai.latency_s = 1.0  # the target is slow, so the run is still going when we stop
    async with open_runtime(isolated_settings(tmp_path)) as rt:
        agent = agent_store.create_agent(rt.services, {"provider": "openai", "name": "slow", "config": {
            "base_url": fake_openai.url, "api_key": "k"}})
        run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": 2})
        stack = serve(rt, "127.0.0.1", 0)
        site = await stack.__aenter__()
        session = aiohttp.ClientSession()
        streams = [await session.get(f"http://127.0.0.1:{site.port}/events", params={"run_id": run.id})
                   for _ in range(3)]
        for stream in streams:
            assert await stream.content.readline() == b"event: connected\n"  # the stream is open and live
        started = time.perf_counter()
        await stack.__aexit__(None, None, None)
        elapsed = time.perf_counter() - started
        for stream in streams:
            stream.close()
        await session.close()
    assert elapsed < 0.5, f"server shutdown took {elapsed:.2f}s"

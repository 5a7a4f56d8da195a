"""Live events across processes: SSE on one process follows a run that a worker process executes."""

from __future__ import annotations

import asyncio

import pytest

from preclinical.engine.dispatch import queue_mode
from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store.events import events_after
from tests.engine.test_runs import parse_sse
from tests.support import isolated_settings
from tests.team.test_workers import start_worker, stop_worker


@pytest.mark.slow
async def test_sse_here_follows_a_run_executed_by_a_worker_elsewhere(postgres_databases, tmp_path, aiohttp_client):
    url = postgres_databases(tmp_path)
    worker = None
    try:
        async with open_runtime(isolated_settings(tmp_path, database_url=url), recover=False) as rt, \
                queue_mode(rt.executor, url):
            client = await aiohttp_client(make_app(rt))
            worker = start_worker(url, tmp_path, "w", concurrency=4)
            resp = await client.post("/start-run", json={"agent_id": DEMO_AGENT_ID, "max_scenarios": 6,
                                                         "max_turns": 5})
            run = await resp.json()
            # Everything arrives live from the other process, in order, ending with the run's completion.
            stream = await asyncio.wait_for((await client.get("/events", params={"run_id": run["id"]})).text(), 60)
            frames = [f for f in parse_sse(stream) if f.get("event") != "connected"]
            assert rt.extras["relay"].relayed > 0  # not merely replayed from the log at connect time
            ids = [int(f["id"]) for f in frames]
            assert ids == sorted(set(ids))
            assert frames[-1]["event"] == "test_run_complete"
            assert [f["event"] for f in frames].count("scenario_complete") == 6
            logged = events_after(run["id"], 0)
            assert ids == [e.id for e in logged if e.id >= ids[0]]
            # Last-Event-ID resumes after the given id, as with one process.
            middle = ids[len(ids) // 2]
            again = await (await client.get("/events", params={"run_id": run["id"]},
                                            headers={"Last-Event-ID": str(middle)})).text()
            resumed = [int(f["id"]) for f in parse_sse(again) if f.get("event") != "connected"]
            assert resumed == [i for i in ids if i > middle]
    finally:
        if worker is not None:
            stop_worker(worker)

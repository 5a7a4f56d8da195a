"""The lease upkeep inside one process: work canceled elsewhere stops here; a dead owner's run is taken over."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from preclinical.library import DEMO_AGENT_ID
from preclinical.store import leases, models
from preclinical.store import runs as store
from preclinical.store.db import database
from preclinical.store.models import Agent, Scenario, ScenarioRun


def dead_owner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{leases.socket.gethostname()}:{proc.pid}:dead0001"


async def test_a_run_canceled_by_another_process_stops_here_at_the_next_heartbeat(fake_openai, runtime, client):
    fake_openai.latency_s = 5  # conversations in flight for the whole test
    agent = (await (await client.post("/api/v1/agents", json={"provider": "openai", "name": "slow", "config": {
        "base_url": fake_openai.url, "api_key": "k"}})).json())["id"]
    run = (await (await client.post("/start-run", json={"agent_id": agent, "max_scenarios": 2})).json())
    await asyncio.sleep(0.3)
    task = runtime.executor.tasks[run["id"]]
    # Another process cancels it: only the database changes (no task of ours is told).
    store.cancel_run(runtime.services, models.TestRun.get_by_id(run["id"]), emit=False)
    runtime.executor.ownership._heartbeat()
    await asyncio.wait([task], timeout=2)
    assert task.done() and run["id"] not in runtime.executor.tasks
    assert {r.status for r in ScenarioRun.select().where(ScenarioRun.test_run == run["id"])} == {"canceled"}


async def test_a_run_whose_owner_died_is_taken_over_and_finished(runtime):
    scenario = Scenario.select().where(Scenario.is_active == True).first()  # noqa: E712
    run, rows = store.create_run(runtime.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                                 scenario_ids=[scenario.scenario_id], options={"concurrency_limit": 1},
                                 owner_id=dead_owner())
    database.execute_sql("UPDATE scenario_run SET status = 'running', attempts = 1 WHERE id = ?", (rows[0].id,))
    done = runtime.executor.ownership.take_over_orphans()
    assert done["resumed"] == 1
    await asyncio.wait_for(runtime.executor.wait(run.id), 30)
    final = models.TestRun.get_by_id(run.id)
    assert final.status == "completed" and final.owner_id == runtime.executor.ownership.owner_id
    row = ScenarioRun.get_by_id(rows[0].id)
    assert row.status in ("passed", "failed") and row.metadata["interrupted_attempts"] == [[]]


async def test_a_run_with_a_live_owner_elsewhere_is_followed_not_taken(runtime):
    scenario = Scenario.select().where(Scenario.is_active == True).first()  # noqa: E712
    live = f"{leases.socket.gethostname()}:{__import__('os').getppid()}:live0001"  # our parent: certainly alive
    run, _ = store.create_run(runtime.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                              scenario_ids=[scenario.scenario_id], options={"concurrency_limit": 1}, owner_id=live)
    seen = []
    stop = runtime.bus.listen(seen.append)
    try:
        assert runtime.executor.ownership.take_over_orphans()["followed"] == 1
        assert run.id not in runtime.executor.tasks and models.TestRun.get_by_id(run.id).owner_id == live
        runtime.services.bus._append(run.id, "test_run_events", "transcript_update", {"turn": 1})  # the owner writes
        runtime.executor.ownership._republish({run.id})
    finally:
        stop()
    # Found after we opened: its events are republished from its first one, so screens learn of it.
    assert [e.event_type for e in seen] == ["test_run_started", "transcript_update"]


async def test_a_conversation_closed_by_another_process_stops_asking_the_target_at_once(fake_openai, runtime, client):
    """Another process cancels the run by changing only the database, and no heartbeat has come yet: each
    conversation stops at its next turn write instead of asking the target until its turn limit."""
    fake_openai.latency_s = 0.2
    agent = (await (await client.post("/api/v1/agents", json={"provider": "openai", "name": "paced", "config": {
        "base_url": fake_openai.url, "api_key": "k"}})).json())["id"]
    run = (await (await client.post("/start-run", json={"agent_id": agent, "max_scenarios": 2,
                                                        "max_turns": 20})).json())
    for _ in range(100):  # both conversations have had a turn answered
        if len(fake_openai.requests) >= 4:
            break
        await asyncio.sleep(0.05)
    store.cancel_run(runtime.services, models.TestRun.get_by_id(run["id"]), emit=False)
    asked_at_cancel = len(fake_openai.requests)
    await asyncio.sleep(2.0)  # ten more turns' worth of target latency, well before the 10 s heartbeat
    assert len(fake_openai.requests) - asked_at_cancel <= 2  # at most the request each conversation had in flight
    rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run["id"]))
    assert {r.status for r in rows} == {"canceled"}
    assert all(len(r.transcript or []) < 40 for r in rows)

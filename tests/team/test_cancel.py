"""Cancel across processes: a run canceled through one process's API stops on the worker that executes it
at once, not at the worker's next lease heartbeat."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from preclinical.engine.dispatch import QUEUE, queue_mode
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store import agents as agent_store
from preclinical.store import leases
from preclinical.store.db import database
from preclinical.store.models import ScenarioRun
from tests.support import isolated_settings
from tests.team.test_workers import start_worker, stop_worker, wait_until

# The worker renews its leases every LEASE / 3 = 20 s: the heartbeat alone would stop the canceled
# conversations only after that, well beyond the wait below.
LEASE_S = 60.0
STOPPED_WITHIN_S = 8.0  # generous against the second or so it takes; far below the heartbeat


def jobs(run_id: str) -> dict[str, int]:
    rows = database.execute_sql(
        "SELECT status, COUNT(*) FROM procrastinate_jobs WHERE queue_name = %s AND split_part(lock, '/', 1) = %s "
        "GROUP BY status", (QUEUE, run_id)).fetchall()
    return {str(status): n for status, n in rows}


@pytest.mark.slow
async def test_cancel_through_the_api_stops_the_conversations_a_worker_elsewhere_holds(
        postgres_databases, tmp_path, aiohttp_client, fake_openai):
    fake_openai.latency_s = 1.0  # a conversation asks one question a second: the cancel lands between two
    url = postgres_databases(tmp_path)
    worker = None
    try:
        async with open_runtime(isolated_settings(tmp_path, database_url=url), recover=False) as rt, \
                queue_mode(rt.executor, url):
            client = await aiohttp_client(make_app(rt))
            agent = agent_store.create_agent(rt.services, {
                "provider": "openai", "name": "slow bot",
                "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}})
            worker = start_worker(url, tmp_path, "w", concurrency=4, lease_s=LEASE_S)
            resp = await client.post("/start-run", json={"agent_id": agent.id, "max_scenarios": 8, "max_turns": 30,
                                                         "concurrency_limit": 4})
            run = await resp.json()

            def talking():
                return [r for r in ScenarioRun.select().where(ScenarioRun.test_run == run["id"])
                        if r.status == "running" and len(r.transcript) >= 2]

            await wait_until(lambda: len(talking()) == 4, timeout=60)  # the worker holds four conversations
            assert jobs(run["id"]).get("doing") == 4

            resp = await client.post("/cancel-run", json={"test_run_id": run["id"]})
            assert resp.status == 200 and (await resp.json())["status"] == "canceled"
            asked_at_cancel = len(fake_openai.requests)

            # The worker let go of every job it was running (its tasks were cancelled) and the waiting
            # jobs are gone: nothing of the run is left to do anywhere.
            await wait_until(lambda: jobs(run["id"]) == {"aborted": 4}, timeout=STOPPED_WITHIN_S, step=0.05)
            # ... and it asks the target nothing more for this run.
            asked = len(fake_openai.requests)
            await asyncio.sleep(1.0)
            assert len(fake_openai.requests) == asked
            assert asked - asked_at_cancel <= 4, asked - asked_at_cancel  # one answered question per conversation at most
            rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run["id"]))
            assert {r.status for r in rows} == {"canceled"}
            assert worker.poll() is None  # the worker itself goes on, ready for other runs
    finally:
        if worker is not None:
            stop_worker(worker)


@pytest.mark.slow
async def test_a_run_driven_here_stops_when_another_process_cancels_it(postgres_databases, tmp_path, fake_openai,
                                                                        monkeypatch):
    """A process that drives a run itself (the terminal interface on PostgreSQL) hears of a cancel made by
    another process through the event relay, and stops its conversations at once."""
    monkeypatch.setattr(leases, "HEARTBEAT_S", 120.0)  # the lease heartbeat would notice only much later
    fake_openai.latency_s = 1.0  # a conversation in flight asks one question a second: the cancel lands between
    url = postgres_databases(tmp_path)
    async with open_runtime(isolated_settings(tmp_path, database_url=url), recover=False) as rt:
        agent = agent_store.create_agent(rt.services, {
            "provider": "openai", "name": "slow bot",
            "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}})
        run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": 24, "max_turns": 30,
                                   "concurrency_limit": 4})  # long enough to outlast the other process's start-up
        task = rt.executor.tasks[run.id]

        def talking():
            return [r for r in ScenarioRun.select().where(ScenarioRun.test_run == run.id)
                    if r.status == "running" and len(r.transcript) >= 2]

        await wait_until(lambda: len(talking()) == 4, timeout=60)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL"))}
        env.update(PRECLINICAL_DATABASE_URL=url, XDG_DATA_HOME=str(tmp_path / "other" / "data"),
                   XDG_STATE_HOME=str(tmp_path / "other" / "state"), XDG_CONFIG_HOME=str(tmp_path / "other" / "config"))
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "preclinical", "--local", "runs", "cancel", run.id, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await other.communicate()
        assert other.returncode == 0 and "Canceled run" in out.decode(), out.decode()
        asked_at_cancel = len(fake_openai.requests)

        await wait_until(task.done, timeout=STOPPED_WITHIN_S, step=0.05)
        assert run.id not in rt.executor.tasks
        asked = len(fake_openai.requests)
        await asyncio.sleep(1.0)
        assert len(fake_openai.requests) == asked
        # At most the one question each conversation in flight had already been answered as the news came.
        assert asked - asked_at_cancel <= 4, asked - asked_at_cancel
        statuses = [r.status for r in ScenarioRun.select().where(ScenarioRun.test_run == run.id)]
        assert "canceled" in statuses and not {"pending", "running", "grading"} & set(statuses)


@pytest.mark.slow
async def test_the_jobs_of_a_dead_worker_in_a_canceled_run_are_closed_not_resumed(
        postgres_databases, tmp_path, aiohttp_client, fake_openai):
    fake_openai.latency_s = 1.0
    url = postgres_databases(tmp_path)
    workers = []
    try:
        async with open_runtime(isolated_settings(tmp_path, database_url=url), recover=False) as rt, \
                queue_mode(rt.executor, url):
            client = await aiohttp_client(make_app(rt))
            agent = agent_store.create_agent(rt.services, {
                "provider": "openai", "name": "slow bot",
                "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}})
            workers.append(start_worker(url, tmp_path, "a", concurrency=2, lease_s=3.0))
            resp = await client.post("/start-run", json={"agent_id": agent.id, "max_scenarios": 4, "max_turns": 30,
                                                         "concurrency_limit": 2})
            run = await resp.json()
            await wait_until(lambda: jobs(run["id"]).get("doing") == 2, timeout=60)
            workers[0].send_signal(signal.SIGKILL)  # a dies holding two jobs ...
            workers[0].wait(10)
            resp = await client.post("/cancel-run", json={"test_run_id": run["id"]})  # ... and the run is canceled
            assert (await resp.json())["status"] == "canceled"
            asked = len(fake_openai.requests)
            workers.append(start_worker(url, tmp_path, "b", concurrency=2, lease_s=3.0))
            # b's sweeper closes a's jobs (their abort was asked for) instead of putting them back in the queue.
            await wait_until(lambda: jobs(run["id"]) == {"aborted": 2}, timeout=60)
            assert len(fake_openai.requests) == asked  # nothing of the canceled run was played again
            assert {r.status for r in ScenarioRun.select().where(ScenarioRun.test_run == run["id"])} == {"canceled"}
    finally:
        for worker in workers:
            stop_worker(worker)

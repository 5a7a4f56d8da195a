"""Distributed workers on PostgreSQL: kill -9 one mid-run; another finishes its work, nothing lost or run twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest

from preclinical.engine.dispatch import queue_mode
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store.events import events_after
from preclinical.store.models import ScenarioRun
from preclinical.store.models import TestRun as Run
from tests.support import isolated_settings

LEASE_S = 3.0  # short, so the test is quick; long enough that a busy machine does not fake a death
TURNS = 5
N = 20


def start_worker(url: str, tmp_path, name: str, concurrency: int, lease_s: float = LEASE_S) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL"))}
    env.update(PRECLINICAL_DATABASE_URL=url, XDG_DATA_HOME=str(tmp_path / name / "data"),
               XDG_STATE_HOME=str(tmp_path / name / "state"), XDG_CONFIG_HOME=str(tmp_path / name / "config"))
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "preclinical", "worker", "--concurrency", str(concurrency),
                             "--lease", str(lease_s)], env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop a worker the way an operator does (SIGTERM), killing it if it has not gone within 10 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def wait_until(check, timeout=60.0, step=0.1):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(step)
    return result


def calls_per_turn(fake) -> Counter:
    """How often the target answered each (conversation, turn): a conversation is its opening message."""
    seen: Counter = Counter()
    for body in fake.requests:
        users = [m["content"] for m in body["messages"] if m["role"] == "user"]
        seen[(users[0], len(users))] += 1
    return seen


@pytest.mark.slow
async def test_a_killed_workers_scenario_runs_are_finished_by_another(postgres_databases, tmp_path, fake_openai):
    fake_openai.latency_s = 0.25  # the target takes a moment per reply: conversations are in flight at the kill
    url = postgres_databases(tmp_path)
    settings = isolated_settings(tmp_path, database_url=url)
    workers: dict[str, subprocess.Popen] = {}
    try:
        async with open_runtime(settings, recover=False) as rt, queue_mode(rt.executor, url):
            agent = agent_store.create_agent(rt.services, {
                "provider": "openai", "name": "slow bot",
                "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}})
            workers["a"] = start_worker(url, tmp_path, "a", concurrency=3)
            workers["b"] = start_worker(url, tmp_path, "b", concurrency=3)
            run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": N, "max_turns": TURNS,
                                        "concurrency_limit": 6})

            def rows():
                return list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))

            def both_busy():
                live = [r for r in rows() if r.status in ("running", "grading") and r.transcript]
                return len({r.owner_id for r in live}) == 2 and live

            # Both workers hold conversations mid-way; then a dies.
            live = await wait_until(both_busy)
            owner_a = next(r.owner_id for r in live if r.owner_id.split(":")[1] == str(workers["a"].pid))
            workers["a"].send_signal(signal.SIGKILL)
            workers["a"].wait(10)
            interrupted = {r.id for r in rows() if r.owner_id == owner_a and r.status in ("running", "grading")}

            await wait_until(lambda: Run.get_by_id(run.id).status == "completed", timeout=90)
            final = rows()
            events = events_after(run.id, 0)
    finally:
        for proc in workers.values():
            stop_worker(proc)

    # Nothing lost: every scenario run ended with a verdict, each with its whole conversation.
    assert len(final) == N
    assert {r.status for r in final} <= {"passed", "failed"}, [(r.status, r.error_code) for r in final]
    assert all(r.metadata["total_turns"] >= 1 for r in final)
    # The run was finalised exactly once, by whichever worker ended last.
    assert [e.event_type for e in events].count("test_run_complete") == 1
    # Nothing run twice: each turn was answered once, except the turns of a's in-flight conversations,
    # which were played again from the start by the worker that resumed them (and say so).
    resumed = {r.id for r in final if r.metadata.get("interrupted_attempts")}
    assert resumed == {r.id for r in final if r.id in interrupted and r.metadata.get("interrupted_attempts")}
    assert resumed and resumed <= interrupted
    assert all(r.owner_id != owner_a for r in final if r.id in resumed)
    counts = calls_per_turn(fake_openai)
    openers = {r.id: r.transcript[0]["content"] for r in final}
    for r in final:
        turns = {k: n for k, n in counts.items() if k[0] == openers[r.id]}
        assert turns, r.id
        if r.id in resumed:
            assert set(turns.values()) <= {1, 2}
            assert all(n == 1 for (_, t), n in turns.items() if t > len(r.metadata["interrupted_attempts"][0]) + 1)
        else:
            assert set(turns.values()) == {1}, (r.id, turns)

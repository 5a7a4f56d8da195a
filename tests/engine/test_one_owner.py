"""One owner per run: a second process on the same data dir follows live runs and never replays them."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3

import aiohttp
import pytest

from tests.engine.test_recovery import free_port, serve, wait_until


async def is_up(http: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with http.get(f"{base}/health") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def follow_until_end(http: aiohttp.ClientSession, base: str, run_id: str) -> list[str]:
    """The event types an SSE client of `base` sees for the run, up to its terminal event."""
    types: list[str] = []
    async with http.get(f"{base}/events", params={"run_id": run_id}, timeout=aiohttp.ClientTimeout(total=60)) as r:
        async for raw in r.content:
            line = raw.decode().strip()
            if line.startswith("event:"):
                types.append(line.split(":", 1)[1].strip())
                if types[-1] in ("test_run_complete", "test_run_canceled", "test_run_failed"):
                    break
    return types


@pytest.mark.slow
async def test_second_process_on_the_same_data_dir_follows_and_never_replays(tmp_path, fake_openai):
    fake_openai.latency_s = 1.5  # the target agent takes a moment per reply
    data = tmp_path / "data"
    port_a, port_b = free_port(), free_port()
    a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    first = serve(data, port_a)
    others: list = []
    try:
        async with aiohttp.ClientSession() as http:
            await wait_until(lambda: is_up(http, a))
            async with http.post(f"{a}/api/v1/agents", json={
                    "provider": "openai", "name": "counting bot",
                    "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}}) as r:
                agent = await r.json()
            async with http.post(f"{a}/start-run", json={
                    "agent_id": agent["id"], "max_scenarios": 8, "concurrency_limit": 8, "max_turns": 12}) as r:
                run = await r.json()

            async def in_flight():
                async with http.get(f"{a}/api/v1/scenario-runs", params={"test_run_id": run["id"]}) as r:
                    rows = (await r.json())["results"]
                return sum(1 for x in rows if x["status"] == "running" and len(x["transcript"]) >= 2) >= 4

            await wait_until(in_flight)
            # The TUI opened while `serve` runs starts a runtime (recovery included) and then finds the port
            # taken; a second server on another port stays up and serves the same runs.
            same_port = serve(data, port_a)
            others.append(same_port)
            second = serve(data, port_b)
            others.append(second)
            await wait_until(lambda: is_up(http, b))
            async with http.get(f"{b}/api/v1/tests/{run['id']}") as r:
                assert (await r.json())["status"] == "running"
            seen_by_b = await follow_until_end(http, b, run["id"])  # live, through the second process
            assert await asyncio.to_thread(same_port.wait, 20) == 2  # could not bind: said so and left

            async with http.get(f"{b}/api/v1/tests/{run['id']}") as r:
                final = await r.json()
            async with http.get(f"{a}/api/v1/scenario-runs", params={"test_run_id": run["id"]}) as r:
                rows = (await r.json())["results"]
    finally:
        for proc in (first, *others):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)

    assert final["status"] == "completed" and final["total_scenarios"] == 8
    assert "test_run_complete" in seen_by_b and "transcript_update" in seen_by_b
    replies = sum(1 for r in rows for e in r["transcript"] if e["role"] == "target")
    print(f"\nagent calls received: {len(fake_openai.requests)}; target replies in transcripts: {replies}")
    assert len(fake_openai.requests) == replies  # every call arrived exactly once: nothing was played twice
    assert all(not (r["metadata"] or {}).get("interrupted_attempts") for r in rows)
    # Each conversation is unique: no (scenario, patient message history) pair was sent twice.
    sent = [json.dumps(req["messages"], sort_keys=True) for req in fake_openai.requests]
    assert len(set(sent)) == len(sent)
    with sqlite3.connect(data / "preclinical.db") as db:
        [(owner,)] = db.execute("SELECT owner_id FROM test_run WHERE id = ?", (run["id"],)).fetchall()
        owners = {o for (o,) in db.execute("SELECT DISTINCT owner_id FROM scenario_run WHERE test_run_id = ?",
                                             (run["id"],))}
    assert owner.split(":")[-2] == str(first.pid) and owners == {owner}  # leased to the first process throughout

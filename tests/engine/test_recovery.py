"""Nothing is lost on a crash: kill -9 mid-run, restart, and every scenario run finishes (or is closed)."""

import asyncio
import os
import signal
import socket
import subprocess
import sys

import aiohttp
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data_dir, port) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL"))}
    return subprocess.Popen(
        [sys.executable, "-m", "preclinical", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


async def wait_until(check, timeout=20.0, step=0.05):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(step)


@pytest.mark.slow
async def test_kill_9_mid_run_then_restart_finishes_every_scenario(tmp_path, fake_openai):
    fake_openai.latency_s = 0.15  # the target agent takes a moment per reply
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(tmp_path / "data", port)
    async with aiohttp.ClientSession() as http:

        async def up():
            try:
                async with http.get(f"{base}/health") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_until(up)
            async with http.post(f"{base}/api/v1/agents", json={
                    "provider": "openai", "name": "slow bot",
                    "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "tiny"}}) as r:
                agent = await r.json()
            async with http.post(f"{base}/start-run", json={
                    "agent_id": agent["id"], "max_scenarios": 10, "concurrency_limit": 10, "max_turns": 6}) as r:
                run = await r.json()
            assert run["total_scenarios"] == 10

            async def in_flight():
                async with http.get(f"{base}/api/v1/scenario-runs", params={"test_run_id": run["id"]}) as r:
                    rows = (await r.json())["results"]
                return sum(1 for x in rows if x["status"] == "running" and len(x["transcript"]) >= 4) >= 5

            await wait_until(in_flight)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)

        proc = serve(tmp_path / "data", port)
        try:
            await wait_until(up)

            async def finished():
                async with http.get(f"{base}/api/v1/tests/{run['id']}") as r:
                    body = await r.json()
                return body if body["status"] == "completed" else None

            final = await wait_until(finished, timeout=30)
            async with http.get(f"{base}/api/v1/scenario-runs", params={"test_run_id": run["id"]}) as r:
                rows = (await r.json())["results"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(5)

    assert final["passed_count"] + final["failed_count"] + final["error_count"] == 10
    assert all(r["status"] in ("passed", "failed", "error") for r in rows)
    resumed = [r for r in rows if r["metadata"] and r["metadata"].get("interrupted_attempts")]
    assert len(resumed) >= 5  # the conversations cut off by the kill were played again from the start
    for r in resumed:
        assert r["transcript"][0]["turn"] == 1 and r["transcript"][-2]["turn"] == 6

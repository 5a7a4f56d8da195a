"""Live-event latency: from the target agent's reply to its arrival at each of N SSE clients.

A fake OpenAI-compatible server (in this process) plays both the model (patient and judge) and the
target agent, each answer taking a set latency; `preclinical serve` runs in a subprocess with the
model engine pointed at it; N clients follow the run on GET /events. For every target reply we
record when the fake sent it and when each client received the `transcript_update` frame with it.

    python -m bench.sse_bench --clients 200 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp

from tests.fakes.openai_server import _requested_schema, asks_for_json, example_from_schema, start_fake_openai

_sent: dict[str, float] = {}
_n = itertools.count(1)
QUESTIONS = ("How long has this been going on?", "How bad is it out of ten?", "Any fever?", "Any medicines?",
             "Any trouble breathing?", "Does anything help?", "Any allergies?", "Anyone else unwell?")


def responder(body: dict) -> str | dict:
    if asks_for_json(body):
        schema = _requested_schema(body)
        value = example_from_schema(schema) if schema else {}
        return json.loads(json.dumps(value).replace('"ok"', f'"answer {next(_n)}"'))
    turn = sum(1 for m in body["messages"] if m["role"] == "user")
    reply = f"Reply {next(_n)}: {QUESTIONS[turn % len(QUESTIONS)]}"
    _sent[reply] = time.perf_counter()  # the fake has already waited its latency; this reply leaves now
    return reply


_delay = 0.0
_ready_at: list[float] = []  # when the last client was connected; earlier replies arrive by replay, not live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def follow(http: aiohttp.ClientSession, url: str, seen: dict[str, list[float]], ready: asyncio.Event,
                 counter: list[int], total: int) -> int:
    frames = 0
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=None)) as resp:
        counter[0] += 1
        if counter[0] == total:
            _ready_at.append(time.perf_counter())
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if not line.startswith("data:"):
                continue
            data = json.loads(line[5:])
            if data.get("type") == "transcript_update":
                seen.setdefault(data["payload"]["target_response"], []).append(time.perf_counter())
                frames += 1
    return frames


async def main(clients: int, latency: float, scenarios: int, turns: int) -> None:
    global _delay
    _delay = latency
    fake, runner, url = await start_fake_openai(latency_s=latency, responder=responder)
    fake.requests = type("Discard", (list,), {"append": lambda self, item: None})()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PRECLINICAL")},
               "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "bench"}
        server = subprocess.Popen([sys.executable, "-m", "preclinical", "serve", "--port", str(port),
                                   "--data-dir", tmp], env=env, stderr=subprocess.DEVNULL)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                for _ in range(100):
                    try:
                        async with http.get(f"{base}/health") as r:
                            if r.status == 200:
                                break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)
                async with http.post(f"{base}/api/v1/agents", json={"provider": "openai", "name": "fake target",
                                     "config": {"base_url": url, "api_key": "t"}}) as r:
                    agent = await r.json()
                async with http.post(f"{base}/start-run", json={"agent_id": agent["id"], "max_scenarios": scenarios,
                                     "max_turns": turns, "concurrency_limit": scenarios}) as r:
                    run = await r.json()
                seen: dict[str, list[float]] = {}
                ready, counter = asyncio.Event(), [0]
                tasks = [asyncio.create_task(follow(http, f"{base}/events?run_id={run['id']}", seen, ready, counter,
                                                    clients)) for _ in range(clients)]
                frames = await asyncio.gather(*tasks)
        finally:
            server.terminate()
            server.wait(10)
    await runner.cleanup()
    start = _ready_at[0] if _ready_at else 0.0
    live = {reply: times for reply, times in seen.items() if _sent.get(reply, 0.0) > start}
    latencies = [(t - _sent[reply]) * 1000 for reply, times in live.items() for t in times]
    lost = len(live) * clients - len(latencies) + sum(1 for r in _sent if r not in seen)
    q = statistics.quantiles(latencies, n=100)
    print(f"{clients} SSE clients, {scenarios} scenarios x {turns} turns, {latency * 1000:.0f} ms per model/target call")
    print(f"target replies: {len(_sent)} ({len(live)} after every client was connected); "
          f"frames per client: min {min(frames)}, max {max(frames)}; lost: {lost}")
    print(f"reply -> client latency: p50 {q[49]:.1f} ms, p90 {q[89]:.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--scenarios", type=int, default=10)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.latency, args.scenarios, args.turns))

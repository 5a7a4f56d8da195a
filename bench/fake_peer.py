"""A fake OpenAI-compatible server in its own process, so benchmarks measure the engine, not the fake.

It plays the model (patient, judge) and the target agent. Every target reply (a request for the
model `fake-target`) ends with a stamp `[sent <CLOCK_MONOTONIC seconds>]` taken as the reply leaves,
so another process on this machine can tell how long the reply took to reach it (bench/sse_bench.py).

With `--hold`, answers wait at a gate: SIGUSR1 opens it, SIGUSR2 closes it again (the SSE bench
holds a run's first replies until all its clients are connected).

    python -m bench.fake_peer --latency 0.2 --port 8999
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import signal
import time
from typing import Any

from tests.fakes.openai_server import _requested_schema, asks_for_json, example_from_schema, start_fake_openai

_counter = itertools.count(1)
TARGET_MODEL = "fake-target"
STAMP = re.compile(r"\[sent (\d+\.\d+)\]")


def stamp() -> str:
    return f" [sent {time.monotonic():.6f}]"


def varied_reply(body: dict[str, Any]) -> str | dict[str, Any]:
    """Replies that differ every time (a repeating agent would end conversations early)."""
    n = next(_counter)
    if asks_for_json(body):
        schema = _requested_schema(body)
        return _fill(example_from_schema(schema), n) if schema else {}
    last = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), {})
    if "pick just one" in str(last.get("content", "")):
        reply = "Clinician evaluation: please see a doctor or urgent care today."
        return reply + stamp() if body.get("model") == TARGET_MODEL else reply
    turn = sum(1 for m in body.get("messages", []) if m.get("role") == "user")
    reply = QUESTIONS[turn % len(QUESTIONS)]  # never the same question twice in one conversation
    return reply + stamp() if body.get("model") == TARGET_MODEL else reply


QUESTIONS = (
    "How long has this been going on?",
    "On a scale from one to ten, how bad is the pain right now?",
    "Do you have a fever or chills?",
    "Are you taking any medicines at the moment, including over-the-counter ones?",
    "Have you noticed any shortness of breath or chest pain?",
    "Is anything making it better or worse, like rest, food or movement?",
    "Do you have any allergies I should know about?",
    "Has anyone around you been unwell recently?",
    "Where exactly do you feel it, and does it spread anywhere?",
    "Have you had anything like this before, and what helped then?",
    "Are you able to eat and drink normally today?",
)


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, n) for v in value]
    return f"It started two days ago, item {n}." if value == "ok" else value


async def main(port: int, latency: float, hold: bool) -> None:
    gate = asyncio.Event()
    if not hold:
        gate.set()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, gate.set)
    loop.add_signal_handler(signal.SIGUSR2, gate.clear)

    async def gated_reply(body: dict[str, Any]) -> str | dict[str, Any]:
        await gate.wait()
        return varied_reply(body)  # stamped now, as it leaves

    fake, runner, url = await start_fake_openai(port=port, latency_s=latency, responder=gated_reply)
    fake.requests = _Discard()  # keep no history: a benchmark sends thousands of requests
    fake.request_headers = _Discard()
    print(url, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class _Discard(list):
    def append(self, item) -> None:
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--hold", action="store_true", help="answers wait until SIGUSR1")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.latency, args.hold))

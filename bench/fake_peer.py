"""A fake OpenAI-compatible server in its own process, so benchmarks measure the engine, not the fake.

It is a bare HTTP/1.1 protocol on uvloop with a timer per request (about 0.06 ms of CPU per request,
a third of what the same fake on aiohttp's web server cost): a fake that costs as much per request as
the engine paces a round of 60 replies itself, and the benchmark then measures the fake.

It plays the model (patient, judge) and the target agent. Every target reply (a request for the
model `fake-target`) ends with a stamp `[sent <CLOCK_MONOTONIC seconds>]` taken as the reply leaves,
so another process on this machine can tell how long the reply took to reach it (bench/sse_bench.py).

With `--hold`, answers wait at a gate: SIGUSR1 opens it, SIGUSR2 closes it again (the SSE bench
holds a run's first replies until all its clients are connected). Held answers leave as far apart as
they fell due: the gate shifts a run's first replies later without packing them into one burst that
the run itself would not have sent.

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

import orjson

from preclinical.loop import run_loop
from tests.fakes.openai_server import (
    _all_text,
    _estimate_tokens,
    _requested_schema,
    asks_for_json,
    example_from_schema,
)

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


class _Peer(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive requests in, each answered after the set latency.

    A plain protocol with a timer per request, no web framework: the fake must cost far less per
    request than the engine it measures, or a round of 60 replies leaves it at the fake's pace.
    """

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            length = next((int(line.split(":", 1)[1]) for line in head[1:]
                           if line.lower().startswith("content-length:")), 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            method, path = head[0].split(" ", 2)[:2]
            self.server.received(self, method, path, body)

    def send(self, status: str, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (status.encode(), len(payload), payload))


class _Server:
    def __init__(self, latency: float, hold: bool) -> None:
        self.latency = latency
        self.open = not hold
        self.held: list[tuple[float, _Peer, dict[str, Any]]] = []  # (when it fell due, ...)
        self.loop = asyncio.get_running_loop()

    def received(self, peer: _Peer, method: str, path: str, raw: bytes) -> None:
        if method == "GET" and path.rstrip("/").endswith("/models"):
            peer.send("200 OK", orjson.dumps({"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in ("fake-model", TARGET_MODEL)]}))
            return
        if method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
            peer.send("404 Not Found", b'{"error": {"message": "not found", "type": "invalid_request_error"}}')
            return
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            peer.send("400 Bad Request", b'{"error": {"message": "invalid JSON", "type": "invalid_request_error"}}')
            return
        self.loop.call_later(self.latency, self.answer, peer, body)

    def answer(self, peer: _Peer, body: dict[str, Any]) -> None:
        if not self.open:  # held until SIGUSR1
            self.held.append((self.loop.time(), peer, body))
            return
        reply = varied_reply(body)  # stamped now, as it leaves
        content = reply if isinstance(reply, str) else orjson.dumps(reply).decode()
        prompt_tokens, completion_tokens = _estimate_tokens(_all_text(body)), _estimate_tokens(content)
        peer.send("200 OK", orjson.dumps({
            "id": f"chatcmpl-fake-{next(_ids)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }))

    def set_open(self, value: bool) -> None:
        self.open = value
        if value:
            held, self.held = self.held, []
            for due, peer, body in held:
                self.loop.call_later(due - held[0][0], self.answer, peer, body)


_ids = itertools.count(1)


async def main(port: int, latency: float, hold: bool) -> None:
    server = _Server(latency, hold)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, server.set_open, True)
    loop.add_signal_handler(signal.SIGUSR2, server.set_open, False)
    listener = await loop.create_server(lambda: _Peer(server), "127.0.0.1", port)
    bound = listener.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    async with listener:
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--hold", action="store_true", help="answers wait until SIGUSR1")
    args = parser.parse_args()
    run_loop(main(args.port, args.latency, args.hold))

"""A fake ElevenLabs Conversational AI service on 127.0.0.1: the signed-URL endpoint and the agent WebSocket.

It speaks the documented event protocol: it expects `conversation_initiation_client_data` first and
answers `conversation_initiation_metadata`; the agent's greeting and replies are `agent_response`
events (with `audio` events in between to ignore). It sends a `ping` (event 0) once the conversation
has started, and before each reply another one whose `pong` it waits for, closing the socket (1008)
if none comes, as the real server drops clients that stop answering.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from multidict import CIMultiDict

from tests.fakes.faults import FaultPlan, apply

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"
SOCKET_PATH = "/v1/convai/conversation"
PONG_WAIT_S = 2.0

# (user text, 1-based user message number) -> the agent's reply parts
Responder = Callable[[str, int], "str | list[str]"]


def default_reply(text: str, number: int) -> str:
    return f"Agent reply {number} to: {text}"


@dataclass
class Conversation:
    """One socket's story, for assertions."""

    conversation_id: str
    received: list[dict[str, Any]] = field(default_factory=list)  # every client frame, in order
    sent: list[dict[str, Any]] = field(default_factory=list)  # every event the fake sent

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e.get("type") == kind]


class FakeElevenLabs:
    """Controls: `greeting` (None = no first message), `greeting_delay_s`, `responder`, `part_gap_s`,
    `behaviour` for the next conversations ("normal", "silent", "close_on_message", "end_after_reply",
    "correct_reply"), `allow_overrides`, and `faults` for the signed-URL endpoint."""

    def __init__(self, *, api_key: str = "xi-test-key", agents: tuple[str, ...] = ("agent-1",),
                 greeting: str | None = "Hello! I'm the clinic's virtual nurse. How can I help?",
                 greeting_delay_s: float = 0.0, responder: Responder = default_reply, part_gap_s: float = 0.02,
                 allow_overrides: bool = True) -> None:
        self.api_key = api_key
        self.agents = set(agents)
        self.greeting = greeting
        self.greeting_delay_s = greeting_delay_s
        self.responder = responder
        self.part_gap_s = part_gap_s
        self.allow_overrides = allow_overrides
        self.behaviour = "normal"
        self.url: str | None = None
        self.signed_url_headers: list[CIMultiDict[str]] = []
        self.conversations: list[Conversation] = []
        self.faults = FaultPlan()
        self._signatures: dict[str, str] = {}  # signature -> agent id
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_get(SIGNED_URL_PATH, self._signed_url)
        self.app.router.add_get(SOCKET_PATH, self._socket)

    async def _signed_url(self, request: web.Request) -> web.StreamResponse:
        self.signed_url_headers.append(CIMultiDict(request.headers))
        if request.headers.get("xi-api-key") != self.api_key:
            return web.json_response({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, status=401)
        fault = self.faults.take("GET signed-url")
        if fault is not None:
            return await apply(fault, request, {"detail": {"status": "fault", "message": f"fake {fault.kind}"}})
        agent_id = request.query.get("agent_id")
        if agent_id not in self.agents:
            return web.json_response({"detail": {"status": "agent_not_found", "message": "Agent not found"}},
                                     status=404)
        signature = f"sig-{next(self._ids)}"
        self._signatures[signature] = agent_id
        url = f"ws://{request.host}{SOCKET_PATH}?agent_id={agent_id}&conversation_signature={signature}"
        return web.json_response({"signed_url": url})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        signature = request.query.get("conversation_signature", "")
        if self._signatures.pop(signature, None) != request.query.get("agent_id"):
            return web.json_response({"detail": "Invalid or used conversation signature"}, status=403)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conversation = Conversation(f"conv_{len(self.conversations) + 1}")
        self.conversations.append(conversation)
        behaviour = self.behaviour
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        pongs: dict[int, asyncio.Event] = {}

        async def send(event: dict[str, Any]) -> None:
            conversation.sent.append(event)
            await ws.send_str(json.dumps(event))

        async def read() -> None:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                event = json.loads(msg.data)
                conversation.received.append(event)
                if event.get("type") == "pong" and event.get("event_id") in pongs:
                    pongs[event["event_id"]].set()
                else:
                    await inbox.put(event)
            await inbox.put({"type": "__closed__"})

        reader = asyncio.get_running_loop().create_task(read())
        try:
            first = await asyncio.wait_for(inbox.get(), 5)
            if first.get("type") != "conversation_initiation_client_data":
                await ws.close(code=1008, message=b"Expected conversation_initiation_client_data first")
                return ws
            if first.get("conversation_config_override") and not self.allow_overrides:
                await ws.close(code=1008, message=b"Override for field 'text_only' is not allowed by config.")
                return ws
            await send({"type": "conversation_initiation_metadata", "conversation_initiation_metadata_event": {
                "conversation_id": conversation.conversation_id, "agent_output_audio_format": "pcm_16000",
                "user_input_audio_format": "pcm_16000"}})
            if self.greeting:
                await asyncio.sleep(self.greeting_delay_s)
                await send({"type": "agent_response", "agent_response_event": {"agent_response": self.greeting}})
            await send({"type": "ping", "ping_event": {"event_id": 0, "ping_ms": 25}})  # an idle-time ping
            event_ids = itertools.count(1)
            number = 0
            while True:
                event = await inbox.get()
                if event["type"] == "__closed__":
                    break
                if event["type"] != "user_message":
                    continue
                number += 1
                if behaviour == "silent":
                    continue
                if behaviour == "close_on_message":
                    await ws.close(code=1011, message=b"Internal server error")
                    break
                ping_id = next(event_ids)
                pongs[ping_id] = asyncio.Event()
                await send({"type": "ping", "ping_event": {"event_id": ping_id, "ping_ms": 40}})
                try:
                    await asyncio.wait_for(pongs[ping_id].wait(), PONG_WAIT_S)
                except TimeoutError:
                    await ws.close(code=1008, message=b"Ping timeout")
                    break
                await send({"type": "user_transcript", "user_transcription_event": {"user_transcript": event["text"]}})
                said = self.responder(event["text"], number)
                parts = [said] if isinstance(said, str) else said
                for i, part in enumerate(parts):
                    if i:
                        await asyncio.sleep(self.part_gap_s)
                    await send({"type": "agent_response", "agent_response_event": {"agent_response": part}})
                    await send({"type": "audio", "audio_event": {"audio_base_64": "AAAA", "event_id": next(event_ids)}})
                if behaviour == "correct_reply":
                    await send({"type": "agent_response_correction", "agent_response_correction_event": {
                        "original_agent_response": parts[-1], "corrected_agent_response": parts[-1].split(".")[0] + "."}})
                if behaviour == "end_after_reply":
                    await ws.close(code=1000, message=b"Conversation ended by the agent")
                    break
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await ws.close()
        return ws

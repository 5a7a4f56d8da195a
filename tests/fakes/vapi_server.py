"""A fake Vapi chat API (`POST /chat`) on 127.0.0.1 that keeps chat history by `previousChatId`, as Vapi does."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.faults import FaultPlan, apply

# What POST /chat accepts; anything else is rejected like Vapi's validation does ("property X should not exist").
CHAT_FIELDS = {"assistantId", "assistant", "assistantOverrides", "name", "sessionId", "input", "stream", "previousChatId"}

# (input, earlier messages of the chat chain) -> the assistant's text, or a full `output` list
Responder = Callable[[str, list[dict[str, Any]]], "str | list[dict[str, Any]]"]


def default_reply(text: str, history: list[dict[str, Any]]) -> str:
    earlier = sum(1 for m in history if m["role"] == "user")
    return f"Reply {earlier + 1} to: {text}"


class FakeVapi:
    """State and controls; `app` is served by the fixture. `requests`/`request_headers` record every call."""

    def __init__(self, *, api_key: str = "vapi-private-key", assistants: tuple[str, ...] = ("asst-1",),
                 responder: Responder = default_reply) -> None:
        self.api_key = api_key
        self.assistants = set(assistants)
        self.responder = responder
        self.url: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[CIMultiDict[str]] = []
        self.chats: dict[str, list[dict[str, Any]]] = {}  # chat id -> the whole chain's messages up to that chat
        self.faults = FaultPlan()
        self._ids = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_post("/chat", self._chat)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.request_headers.append(CIMultiDict(request.headers))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _error(401, "Invalid Key. Hot tip, you may be using the private key instead of the public key, "
                               "or vice versa.", "Unauthorized")
        fault = self.faults.take("POST /chat")
        if fault is not None:
            return await apply(fault, request, {"message": f"fake fault {fault.kind}", "error": "Fault"})
        unknown = sorted(set(body) - CHAT_FIELDS)
        if unknown:
            return _error(400, [f"property {name} should not exist" for name in unknown], "Bad Request")
        if not isinstance(body.get("input"), (str, list)):
            return _error(400, ["input must be a string or an array"], "Bad Request")
        if body.get("assistantId") not in self.assistants:
            return _error(404, f"Couldn't Get Assistant. `assistantId` {body.get('assistantId')} Does Not Exist.",
                          "Not Found")
        previous = body.get("previousChatId")
        if previous is not None and previous not in self.chats:
            return _error(404, f"Chat {previous} not found", "Not Found")
        history = list(self.chats.get(previous, []))
        text = body["input"] if isinstance(body["input"], str) else str(body["input"])
        said = self.responder(text, history)
        output = [{"role": "assistant", "content": said}] if isinstance(said, str) else said
        chat_id = f"chat_{next(self._ids):04d}"
        messages = [*history, {"role": "user", "content": text}]
        self.chats[chat_id] = [*messages, *output]
        return web.json_response({
            "id": chat_id, "orgId": "org-fake", "assistantId": body["assistantId"], "sessionId": None,
            "previousChatId": previous, "input": body["input"], "messages": messages, "output": output,
            "createdAt": "2026-03-01T12:00:00.000Z", "updatedAt": "2026-03-01T12:00:00.000Z",
        }, status=201)


def _error(status: int, message: Any, error: str) -> web.Response:
    return web.json_response({"message": message, "error": error, "statusCode": status}, status=status)

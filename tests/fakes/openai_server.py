"""A fake OpenAI-compatible chat completions server on 127.0.0.1, programmable with replies, latency and faults."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

Responder = Callable[[dict[str, Any]], "str | dict[str, Any] | Awaitable[str | dict[str, Any]]"]

NAMED_FAULTS = {
    "timeout", "malformed", "reset", "reject_json_schema", "reject_response_format",
    "llamacpp_json_schema", "html", "truncated", "empty", "no_choices",
}
# What llama-cpp-python's server (0.3.x) really answers to `response_format: {"type": "json_schema"}`:
# HTTP 500, its request validation error as the message (checked against the real server in tests/realmodel).
LLAMACPP_JSON_SCHEMA_MESSAGE = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", line 376, "
    "in create_chat_completion\n    POST /v1/chat/completions"
)
HANG_LIMIT_S = 30.0  # a "timeout" fault never hangs a test run longer than this


@dataclass
class _Fault:
    kind: str
    remaining: int  # -1 = forever
    retry_after: float | None = None

    def applies_to(self, body: dict[str, Any]) -> bool:
        response_type = _response_format_type(body)
        if self.kind in ("reject_json_schema", "llamacpp_json_schema"):
            return response_type == "json_schema"
        if self.kind == "reject_response_format":
            return response_type is not None
        if self.kind == "malformed":
            return asks_for_json(body)
        return True


class FakeOpenAI:
    """The fake's state and controls; `app` is the aiohttp application to serve.

    `requests` holds every chat request body in arrival order and `request_headers` their headers;
    `disconnected` is set when a hanging request's client went away (the request was cancelled).
    """

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        latency_s: float = 0.0,
        usage: tuple[int, int] | None = None,
        models: tuple[str, ...] = ("fake-model",),
    ) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.usage = usage  # fixed (prompt, completion) tokens per reply; None = estimated from text
        self.models = models
        self.url: str | None = None  # base URL ending in /v1, set once served
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[CIMultiDict[str]] = []  # case-insensitive
        self.disconnects = 0
        self.disconnected = asyncio.Event()
        self._faults: list[_Fault] = []
        self._random_fault: tuple[str, float, Any] | None = None
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_get("/v1/models", self._models)

    def inject(self, kind: str, times: int = 1, *, retry_after: float | None = None) -> None:
        """Queue a fault for the next `times` requests it applies to (-1 = every such request).

        Kinds: "timeout", "malformed", "reset", "reject_json_schema", "reject_response_format", or an
        HTTP status such as "429", "500", "401" (`retry_after` adds a Retry-After header).
        "llamacpp_json_schema" answers a json_schema request as llama-cpp-python's server does (HTTP 500
        naming response_format); "html" answers 200 with an HTML page, "truncated" a JSON body cut in
        half, "empty" a completion whose text is empty, "no_choices" a completion without choices.
        """
        if kind not in NAMED_FAULTS and not (kind.isdigit() and len(kind) == 3):
            raise ValueError(f"unknown fault kind {kind!r}")
        if times == 0 or times < -1:
            raise ValueError("times must be positive or -1")
        self._faults.append(_Fault(kind, times, retry_after))

    def inject_random(self, kind: str, rate: float, *, seed: int = 0) -> None:
        """Answer a share `rate` of all requests with fault `kind` (seeded, so a test sees the same sequence)."""
        import random

        self.inject(kind, times=1)  # validates the kind
        self._faults.pop()
        self._random_fault = (kind, rate, random.Random(seed))

    def clear_faults(self) -> None:
        self._faults.clear()
        self._random_fault = None

    def _take_fault(self, body: dict[str, Any]) -> _Fault | None:
        if self._random_fault is not None:
            kind, rate, rng = self._random_fault
            if rng.random() < rate:
                return _Fault(kind, 1)
        for fault in self._faults:
            if fault.applies_to(body):
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.request_headers.append(CIMultiDict(request.headers))
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        fault = self._take_fault(body)
        if fault is not None:
            if fault.kind == "timeout":
                return await self._hang(request)
            if fault.kind == "reset":
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=499)  # never reaches the client
            if fault.kind == "malformed":
                return self._completion(body, "Sure! Here is what you asked for: {not json")
            if fault.kind == "reject_json_schema":
                return _error(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.", "response_format")
            if fault.kind == "reject_response_format":
                return _error(400, "Invalid parameter: 'response_format' is not supported.", "response_format")
            if fault.kind == "llamacpp_json_schema":
                return web.json_response(
                    {"error": {"message": LLAMACPP_JSON_SCHEMA_MESSAGE, "type": "internal_server_error",
                               "param": None, "code": None}},
                    status=500,
                )
            if fault.kind == "html":
                return web.Response(
                    text="<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>",
                    content_type="text/html",
                )
            if fault.kind == "truncated":
                whole = self._completion(body, await self._reply(body)).body
                assert isinstance(whole, bytes)
                return web.Response(body=whole[: len(whole) // 2], content_type="application/json")
            if fault.kind == "empty":
                return self._completion(body, "")
            if fault.kind == "no_choices":
                response = self._completion(body, "")
                data = json.loads(response.body)  # type: ignore[arg-type]
                data["choices"] = []
                return web.json_response(data)
            return _status_error(int(fault.kind), fault.retry_after)
        reply = await self._reply(body)
        return self._completion(body, reply)

    async def _reply(self, body: dict[str, Any]) -> str:
        if self.responder is None:
            reply: Any = default_reply(body)
        else:
            reply = self.responder(body)
            if inspect.isawaitable(reply):
                reply = await reply
        return reply if isinstance(reply, str) else json.dumps(reply)

    async def _hang(self, request: web.Request) -> web.Response:
        """Answer nothing until the client goes away (or the limit passes)."""
        deadline = time.monotonic() + HANG_LIMIT_S
        try:
            while time.monotonic() < deadline:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self._note_disconnect()
            raise
        self._note_disconnect()
        return _error(504, "fake server gave up waiting", None)

    def _note_disconnect(self) -> None:
        self.disconnects += 1
        self.disconnected.set()

    def _completion(self, body: dict[str, Any], content: str) -> web.Response:
        prompt_tokens, completion_tokens = self.usage or (_estimate_tokens(_all_text(body)), _estimate_tokens(content))
        return web.json_response(
            {
                "id": f"chatcmpl-fake-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake-model"),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


def default_reply(body: dict[str, Any]) -> str | dict[str, Any]:
    """An instance of the requested JSON schema when JSON is asked for, otherwise an echo-like text."""
    if asks_for_json(body):
        schema = _requested_schema(body)
        return example_from_schema(schema) if schema is not None else {}
    last_user = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), None)
    text = _text_of(last_user.get("content")) if last_user else ""
    return f"Fake reply to: {text[:60]}"


def asks_for_json(body: dict[str, Any]) -> bool:
    if _response_format_type(body) is not None:
        return True
    return any("json" in _text_of(m.get("content")).lower() for m in body.get("messages", []))


def example_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A small valid instance of a JSON schema (strings "ok", numbers 1, true, first enum value, one-item arrays)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return example_from_schema(target, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return example_from_schema(options[0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {name: example_from_schema(sub, root) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [example_from_schema(items, root)]
    return {"integer": 1, "number": 1, "boolean": True, "null": None}.get(kind, "ok")


def _requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema in response_format (OpenAI or llama.cpp style), else the first JSON schema written in a message."""
    response_format = body.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema") or response_format.get("schema")
    if schema:
        return schema
    decoder = json.JSONDecoder()
    for message in body.get("messages", []):
        text = _text_of(message.get("content"))
        start = text.find("{")
        while start != -1:
            try:
                candidate, _ = decoder.raw_decode(text, start)
            except ValueError:
                candidate = None
            if isinstance(candidate, dict) and ("properties" in candidate or candidate.get("type") == "object"):
                return candidate
            start = text.find("{", start + 1)
    return None


def _response_format_type(body: dict[str, Any]) -> str | None:
    response_format = body.get("response_format")
    return response_format.get("type") if isinstance(response_format, dict) else None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _all_text(body: dict[str, Any]) -> str:
    return " ".join(_text_of(m.get("content")) for m in body.get("messages", []))


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _error(status: int, message: str, param: str | None) -> web.Response:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return web.json_response({"error": {"message": message, "type": kind, "param": param, "code": None}}, status=status)


def _status_error(status: int, retry_after: float | None) -> web.Response:
    messages = {429: "Rate limit reached, too many requests", 401: "Incorrect API key provided", 404: "The model does not exist"}
    response = _error(status, messages.get(status, f"Fake error {status}"), None)
    if retry_after is not None:
        response.headers["Retry-After"] = f"{retry_after:g}"
    return response


async def start_fake_openai(host: str = "127.0.0.1", port: int = 0, **kw: Any) -> tuple[FakeOpenAI, web.AppRunner, str]:
    """Serve a FakeOpenAI outside pytest (bench scripts); call `await runner.cleanup()` when done."""
    fake = FakeOpenAI(**kw)
    runner = web.AppRunner(fake.app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    fake.url = f"http://{host}:{site.port}/v1"
    return fake, runner, fake.url

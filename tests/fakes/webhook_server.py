"""A fake JSON webhook agent on 127.0.0.1: records what it receives and answers with a programmable JSON body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.faults import FaultPlan, apply

# (request JSON) -> response JSON
Responder = Callable[[Any], Any]


def default_reply(body: Any) -> Any:
    message = body.get("message") if isinstance(body, dict) else None
    return {"reply": f"Webhook heard: {message}"}


class FakeWebhook:
    """Serves `POST|PUT /hook`; `received` holds `(method, body)` per call and `request_headers` their headers."""

    def __init__(self, *, responder: Responder = default_reply) -> None:
        self.responder = responder
        self.url: str | None = None  # .../hook, set once served
        self.received: list[tuple[str, Any]] = []
        self.request_headers: list[CIMultiDict[str]] = []
        self.faults = FaultPlan()
        self.app = web.Application()
        self.app.router.add_route("POST", "/hook", self._hook)
        self.app.router.add_route("PUT", "/hook", self._hook)

    @property
    def bodies(self) -> list[Any]:
        return [body for _, body in self.received]

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.received.append((request.method, body))
        self.request_headers.append(CIMultiDict(request.headers))
        fault = self.faults.take(f"{request.method} /hook")
        if fault is not None:
            return await apply(fault, request, {"error": f"fake fault {fault.kind}"})
        reply = self.responder(body)
        if isinstance(reply, web.StreamResponse):
            return reply
        return web.json_response(reply)

"""Programmable faults shared by the fake provider servers: HTTP error statuses, hangs and connection resets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiohttp import web

HANG_LIMIT_S = 30.0  # a hanging request never holds a test run longer than this


@dataclass
class Fault:
    kind: str  # "timeout", "reset" or an HTTP status such as "429"
    remaining: int  # -1 = forever
    route: str | None = None  # e.g. "POST /tasks"; None = any route
    retry_after: float | None = None


class FaultPlan:
    """Faults queued for the next requests; `take(route)` pops the first that applies."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def inject(self, kind: str, times: int = 1, *, route: str | None = None, retry_after: float | None = None) -> None:
        if kind not in ("timeout", "reset") and not (kind.isdigit() and len(kind) == 3):
            raise ValueError(f"unknown fault kind {kind!r}")
        if times == 0 or times < -1:
            raise ValueError("times must be positive or -1")
        self._faults.append(Fault(kind, times, route, retry_after))

    def take(self, route: str) -> Fault | None:
        for fault in self._faults:
            if fault.route in (None, route):
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None


async def apply(fault: Fault, request: web.Request, error_body: dict) -> web.StreamResponse:
    """Answer a request the way the fault says."""
    if fault.kind == "timeout":
        return await hang(request)
    if fault.kind == "reset":
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=499)  # never reaches the client
    response = web.json_response(error_body, status=int(fault.kind))
    if fault.retry_after is not None:
        response.headers["Retry-After"] = f"{fault.retry_after:g}"
    return response


async def hang(request: web.Request) -> web.Response:
    """Answer nothing until the client goes away (or the limit passes)."""
    deadline = time.monotonic() + HANG_LIMIT_S
    while time.monotonic() < deadline:
        transport = request.transport
        if transport is None or transport.is_closing():
            break
        await asyncio.sleep(0.01)
    return web.json_response({"error": "fake server gave up waiting"}, status=504)

"""`make_app(runtime)`: the aiohttp application (REST + SSE) and the helpers that serve it on one loop."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import weakref
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from preclinical import __version__
from preclinical.runtime import Runtime
from preclinical.server import agents, events, health, openapi, runs, scenarios
from preclinical.server.errors import error_middleware, error_response
from preclinical.server.keys import runtime_key, streams_key
from preclinical.server.responses import json_response

ROUTE_TABLES = [health.routes, agents.routes, scenarios.routes, runs.routes, events.routes, openapi.routes]


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine ("" and 0.0.0.0 mean every interface)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@web.middleware
async def cors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
    else:
        response = await handler(request)
    if not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Last-Event-ID"
    return response


def auth_middleware(token: str) -> Any:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def check_token(request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if request.method != "OPTIONS" and not hmac.compare_digest(given, expected):
            return error_response(401, "Unauthorized: send Authorization: Bearer <PRECLINICAL_API_KEY>")
        return await handler(request)

    return check_token


async def index(request: web.Request) -> web.Response:
    return json_response({"name": "preclinical", "version": __version__, "openapi": "/api/v1/openapi.json"})


async def _close_streams(app: web.Application) -> None:
    """End open SSE streams first, so shutdown takes well under a second."""
    for task in list(app[streams_key]):
        task.cancel()


def make_app(runtime: Runtime, *, require_token: str | None = None) -> web.Application:
    middlewares = [cors_middleware, error_middleware]
    if require_token:
        middlewares.insert(1, auth_middleware(require_token))
    app = web.Application(middlewares=middlewares, client_max_size=8 * 1024 * 1024)
    app[runtime_key] = runtime
    app[streams_key] = weakref.WeakSet()
    app.router.add_get("/", index)
    for table in ROUTE_TABLES:
        app.add_routes(table)
    events.install(app, runtime.bus)
    app.on_shutdown.append(_close_streams)
    return app


@contextlib.asynccontextmanager
async def serve(runtime: Runtime, host: str, port: int) -> AsyncIterator[web.TCPSite]:
    """Serve `make_app(runtime)` on host:port until the block exits (bind errors surface here)."""
    token = runtime.settings.api_token
    if not is_loopback(host) and not token:
        raise PermissionError(
            f"Refusing to listen on {host} without a token: set PRECLINICAL_API_KEY (clients send it as a Bearer token)."
        )
    runner = web.AppRunner(make_app(runtime, require_token=token if not is_loopback(host) else None),
                           access_log=None, shutdown_timeout=1.0, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield site
    finally:
        await runner.cleanup()

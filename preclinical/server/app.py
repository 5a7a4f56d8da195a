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
from preclinical.domain.json_limits import valid_text
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


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Endpoints whose body is not JSON (a scenario file: CSV, JSON or YAML, sent as-is by curl --data-binary).
RAW_BODY_PATHS = frozenset({"/api/v1/scenarios/import"})


def _split_host(value: str) -> tuple[str, int | None]:
    """("localhost", 3000) from "localhost:3000"; ("[::1]", 80) from "[::1]:80"; port None when absent or invalid."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port_text = value.partition(":")
    return name, (int(port_text) if port_text.isdigit() and len(port_text) <= 5 else None)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (content_type.startswith("application/") and content_type.endswith("+json"))


def browser_guard(bound_host: str | None, *, check_host: bool) -> Any:
    """Keep web pages in the user's browser away from the API (it has no token on loopback).

    - `Host` must name this server (loopback names or the bound address, with its port): a DNS-rebinding
      page reaches us under its own name and is refused.
    - An `Origin` (browsers send it on every cross-origin request and every write) must be our own.
    - Writes carry JSON (`application/json`), which a page cannot send cross-site without a CORS
      preflight, and we answer no preflight: no `Access-Control-*` header is ever sent.
    Clients that are not browsers (curl, the SDK, the CLI) send no `Origin` and pass unchanged.
    """
    names = set(LOOPBACK_NAMES)
    if bound_host:
        names.add(f"[{bound_host}]" if ":" in bound_host else bound_host.lower())

    def forbidden(message: str) -> web.Response:
        return error_response(403, message)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        host_header = request.headers.get("Host", "")
        if check_host:
            name, port = _split_host(host_header)
            sockname = request.transport.get_extra_info("sockname") if request.transport else None
            local_port = sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None
            # The name is what a rebinding page cannot fake; a port, when given, must be ours too.
            if name not in names or (port is not None and local_port is not None and port != local_port):
                return error_response(421, f"Host {host_header!r} is not this server: use http://127.0.0.1 or "
                                           "http://localhost with the port the server listens on")
        origin = request.headers.get("Origin")
        if origin is not None and origin.rstrip("/").lower() not in (f"http://{host_header}".lower(),
                                                                      f"https://{host_header}".lower()):
            return forbidden("Cross-site request refused: this API does not answer web pages from other origins")
        if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
            return forbidden("Cross-site request refused: this API does not answer web pages from other origins")
        if request.method == "OPTIONS":
            return forbidden("Cross-origin requests are not allowed (no CORS)")
        if request.method in WRITE_METHODS and request.path not in RAW_BODY_PATHS:
            has_body = request.content_length != 0 and (request.body_exists or bool(request.content_length))
            if has_body and not _is_json(request.content_type):
                return error_response(415, f"Send the request body as JSON (Content-Type: application/json), "
                                           f"not {request.content_type or 'no content type'}")
        return await handler(request)

    return guard


@web.middleware
async def text_guard(request: web.Request, handler: Any) -> web.StreamResponse:
    """Paths and query strings must be valid Unicode: a lone surrogate can be neither looked up nor stored."""
    if not valid_text(request.path) or not all(valid_text(k) and valid_text(v) for k, v in request.query.items()):
        return error_response(400, "The URL is not valid UTF-8 text (it decodes to a lone surrogate)")
    return await handler(request)


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


def make_app(runtime: Runtime, *, require_token: str | None = None, host: str | None = None) -> web.Application:
    """The app; without a token (loopback) the Host header must name this server (`host` is the bound address)."""
    middlewares = [browser_guard(host, check_host=not require_token), error_middleware, text_guard]
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
    runner = web.AppRunner(make_app(runtime, require_token=token if not is_loopback(host) else None, host=host),
                           access_log=None, shutdown_timeout=1.0, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        yield site
    finally:
        await runner.cleanup()

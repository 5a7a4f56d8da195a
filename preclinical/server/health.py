"""GET /health: database, models (or the offline engine) and provider readiness."""

from __future__ import annotations

from aiohttp import web

from preclinical.readiness import check_health
from preclinical.server.keys import runtime_key
from preclinical.server.responses import json_response

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    report = await check_health(request.app[runtime_key])
    return json_response(report, status=200 if report["status"] == "ok" else 503)

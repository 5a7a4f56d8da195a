"""GET /health: database, models (or the offline engine) and provider readiness."""

from __future__ import annotations

from aiohttp import web

from preclinical.readiness import health_report
from preclinical.server.keys import runtime_key
from preclinical.server.responses import json_response

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    report = health_report(request.app[runtime_key])
    return json_response(report, status=200 if report["status"] == "ok" else 503)

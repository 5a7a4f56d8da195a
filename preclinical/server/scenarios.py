"""Scenario routes: thin handlers over `store.scenarios`."""

from __future__ import annotations

from aiohttp import web

from preclinical.server.errors import read_json
from preclinical.server.keys import runtime_key
from preclinical.store import scenarios
from preclinical.store.serialize import scenario_json

routes = web.RouteTableDef()


@routes.get("/api/v1/scenarios")
async def list_scenarios(request: web.Request) -> web.Response:
    q = request.query
    rows = scenarios.list_scenarios(
        tag=q.get("tag") or None, category=q.get("category") or None, q=q.get("q") or None,
        approved=q.get("approved", "true").lower(), active=q.get("active", "true").lower(),
    )
    return web.json_response({"scenarios": [scenario_json(s) for s in rows], "total": len(rows)})


@routes.get("/api/v1/scenarios/{id}")
async def get_scenario(request: web.Request) -> web.Response:
    return web.json_response(scenario_json(scenarios.get_scenario(request.match_info["id"])))


@routes.post("/api/v1/scenarios")
async def create_scenario(request: web.Request) -> web.Response:
    data = await read_json(request)
    scenario = scenarios.create_scenario(request.app[runtime_key].services, data)
    return web.json_response(scenario_json(scenario), status=201)


@routes.patch("/api/v1/scenarios/{id}")
async def update_scenario(request: web.Request) -> web.Response:
    scenarios.get_scenario(request.match_info["id"])
    data = await read_json(request)
    scenario = scenarios.update_scenario(request.app[runtime_key].services, request.match_info["id"], data)
    return web.json_response(scenario_json(scenario))


@routes.delete("/api/v1/scenarios/{id}")
async def delete_scenario(request: web.Request) -> web.Response:
    scenarios.delete_scenario(request.app[runtime_key].services, request.match_info["id"])
    return web.Response(status=204)

"""Agent routes: thin handlers over `store.agents`."""

from __future__ import annotations

from aiohttp import web

from preclinical.server.errors import read_json
from preclinical.server.keys import runtime_key
from preclinical.server.responses import json_response
from preclinical.store import agents
from preclinical.store.serialize import agent_json

routes = web.RouteTableDef()


@routes.get("/api/v1/agents")
async def list_agents(request: web.Request) -> web.Response:
    return json_response([agent_json(a) for a in agents.list_agents()])


@routes.get("/api/v1/agents/{id}")
async def get_agent(request: web.Request) -> web.Response:
    return json_response(agent_json(agents.get_agent(request.match_info["id"])))


@routes.post("/api/v1/agents")
async def create_agent(request: web.Request) -> web.Response:
    data = await read_json(request)
    agent = agents.create_agent(request.app[runtime_key].services, data)
    return json_response(agent_json(agent), status=201)


@routes.patch("/api/v1/agents/{id}")
async def update_agent(request: web.Request) -> web.Response:
    agents.get_agent(request.match_info["id"])  # 404 before complaining about the body
    data = await read_json(request)
    agent = agents.update_agent(request.app[runtime_key].services, request.match_info["id"], data)
    return json_response(agent_json(agent))


@routes.delete("/api/v1/agents/{id}")
async def delete_agent(request: web.Request) -> web.Response:
    agents.delete_agent(request.app[runtime_key].services, request.match_info["id"])
    return web.Response(status=204)

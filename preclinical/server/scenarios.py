"""Scenario routes: thin handlers over `store.scenarios`."""

from __future__ import annotations

from aiohttp import web

from preclinical.engine import generator
from preclinical.errors import InvalidInput
from preclinical.library import io as scenario_io
from preclinical.server.errors import read_json
from preclinical.server.keys import runtime_key
from preclinical.server.params import query_int
from preclinical.server.responses import json_response
from preclinical.store import scenarios
from preclinical.store.serialize import scenario_json

routes = web.RouteTableDef()
MAX_LIST = 1_000_000  # no practical cap on a whole list; the parameter only has to be a sane integer


@routes.get("/api/v1/scenarios")
async def list_scenarios(request: web.Request) -> web.Response:
    q = request.query
    # Every scenario by default (the published SDK and CLI read the list whole); `limit`/`offset` page it.
    limit = query_int(request, "limit", MAX_LIST, minimum=1)
    offset = query_int(request, "offset", 0)
    rows, total = scenarios.list_scenarios_page(
        tag=q.get("tag") or None, category=q.get("category") or None, q=q.get("q") or None,
        approved=q.get("approved", "true").lower(), active=q.get("active", "true").lower(),
        limit=min(limit, MAX_LIST), offset=offset,
    )
    return json_response({"scenarios": [scenario_json(s) for s in rows], "total": total})


# The fixed paths below are registered before /api/v1/scenarios/{id}, so "export" is never read as an id.


@routes.post("/api/v1/scenarios/generate")
async def generate_scenario(request: web.Request) -> web.Response:
    request_fields = generator.check_request(await read_json(request), batch=False)
    runtime = request.app[runtime_key]
    scenario = await generator.generate_one(runtime.llm, runtime.services, **request_fields)
    return web.json_response(scenario_json(scenario), status=201)


@routes.post("/api/v1/scenarios/generate-batch")
async def generate_scenarios(request: web.Request) -> web.Response:
    request_fields = generator.check_request(await read_json(request), batch=True)
    runtime = request.app[runtime_key]
    rows = await generator.generate_batch(runtime.llm, runtime.services, **request_fields)
    return web.json_response({"scenarios": [scenario_json(s) for s in rows], "total": len(rows)}, status=201)


@routes.get("/api/v1/scenarios/export")
async def export_scenarios(request: web.Request) -> web.Response:
    q = request.query
    fmt = q.get("format", "json").strip().lower()
    text = await scenario_io.export_text(
        fmt, tag=q.get("tag") or None, category=q.get("category") or None, q=q.get("q") or None,
        approved=q.get("approved", "true").lower(), active=q.get("active", "true").lower(),
    )
    filename = f"preclinical-scenarios-{request.app[runtime_key].now():%Y%m%d-%H%M%S}.{fmt}"
    return web.Response(text=text, content_type=scenario_io.MEDIA_TYPES[fmt], charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@routes.post("/api/v1/scenarios/import")
async def import_scenarios(request: web.Request) -> web.Response:
    dry_run = request.query.get("dry_run", "false").strip().lower()
    if dry_run not in ("true", "false", "1", "0", ""):
        raise InvalidInput("dry_run must be true or false")
    try:
        text = (await request.read()).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The import must be UTF-8 text: save the file as UTF-8 and send it again.") from None
    report = await scenario_io.import_text(request.app[runtime_key].services, text, request.query.get("format"),
                                           dry_run=dry_run in ("true", "1"))
    return web.json_response(report.to_json(), status=201 if report.created and not report.dry_run else 200)


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

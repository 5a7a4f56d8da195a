"""Run routes: start, cancel, list, get, compare, delete, scenario runs, and exports (CSV, JSON and HTML)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from preclinical.domain.run import RUN_TERMINAL, RunStatus
from preclinical.engine.executor import parse_request
from preclinical.errors import InvalidInput
from preclinical.report.collect import comparison_report
from preclinical.report.export import CONTENT_TYPES, export_run
from preclinical.report.html import render_comparison
from preclinical.server.errors import read_json
from preclinical.server.keys import runtime_key
from preclinical.server.params import page
from preclinical.server.responses import json_response
from preclinical.store import runs as store
from preclinical.store.comparison import compare_test_runs
from preclinical.store.fast_reads import scenario_runs_json, test_runs_json
from preclinical.store.serialize import scenario_run_json, test_run_json

routes = web.RouteTableDef()

_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


def js_int(value: str | None) -> int | None:
    """JavaScript's parseInt: the leading integer of a string ("25abc" → 25, "7.9" → 7), None for NaN."""
    match = _LEADING_INT.match(value or "")
    return int(match.group(1)) if match else None




@routes.post("/start-run")
async def start_run(request: web.Request) -> web.Response:
    wanted = parse_request(await read_json(request, strict_numbers=False))  # RunRequest checks each number
    run, plan = request.app[runtime_key].executor.start(wanted)
    body: dict[str, Any] = {"id": run.id, "test_run_id": run.test_run_id, "status": run.status,
                            "total_scenarios": run.total_scenarios, "scenarios_launched": run.total_scenarios}
    if plan.skipped:
        body["skipped"] = plan.skipped
    if plan.not_gradable_offline:
        body["not_gradable_offline"] = plan.not_gradable_offline
    return json_response(body)


@routes.post("/cancel-run")
async def cancel_run(request: web.Request) -> web.Response:
    data = await read_json(request)
    ref = data.get("test_run_id")
    if not ref:
        raise InvalidInput("test_run_id is required")
    if not isinstance(ref, str):
        raise InvalidInput("test_run_id must be a string")
    run = store.resolve_run(ref)
    if run.status in RUN_TERMINAL and run.status != RunStatus.CANCELED:
        return json_response({"status": run.status, "message": "Test run already finalized"})
    if run.status == RunStatus.CANCELED:
        return json_response({"status": RunStatus.CANCELED, "canceled_scenarios": 0})
    canceled = request.app[runtime_key].executor.cancel(run)
    return json_response({"status": RunStatus.CANCELED, "canceled_scenarios": canceled})


@routes.get("/api/v1/tests")
async def list_tests(request: web.Request) -> web.Response:
    limit, offset = page(request, 25)
    runs, total = test_runs_json(limit=limit, offset=offset, status=request.query.get("status") or None,
                                 agent_id=request.query.get("agent_id") or None)
    return json_response({"runs": runs, "total": total})


@routes.get("/api/v1/tests/compare")  # before /api/v1/tests/{id}, which would take "compare" for an id
async def compare_tests(request: web.Request) -> web.Response:
    return json_response(compare_test_runs(request.query.get("base"), request.query.get("candidate")))


def _html(text: str, filename: str) -> web.Response:
    return web.Response(text=text, content_type="text/html", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _stamp(request: web.Request) -> str:
    return request.app[runtime_key].services.now().strftime("%Y-%m-%d %H:%M UTC")


@routes.get("/api/v1/tests/compare/export-html")  # before /api/v1/tests/{id}/export-html, like compare
async def compare_tests_html(request: web.Request) -> web.Response:
    model = comparison_report(request.query.get("base"), request.query.get("candidate"), now=_stamp(request))
    runs = model["comparison"]
    name = f"preclinical-compare-{runs['base']['run']['test_run_id']}-{runs['candidate']['run']['test_run_id']}.html"
    return _html(render_comparison(model), name)


@routes.get("/api/v1/tests/{id}")
async def get_test(request: web.Request) -> web.Response:
    return json_response(test_run_json(store.resolve_run(request.match_info["id"])))


@routes.delete("/api/v1/tests/{id}")
async def delete_test(request: web.Request) -> web.Response:
    run = store.resolve_run(request.match_info["id"])
    request.app[runtime_key].executor.delete(run)
    return web.Response(status=204)


async def _export(request: web.Request, kind: str) -> web.Response:
    run = store.resolve_run(request.match_info["id"])
    name, data = await asyncio.to_thread(export_run, run.id, kind, now=_stamp(request))
    return web.Response(body=data, content_type=CONTENT_TYPES[kind], charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@routes.get("/api/v1/tests/{id}/export-csv")
async def export_csv(request: web.Request) -> web.Response:
    return await _export(request, "csv")


@routes.get("/api/v1/tests/{id}/export-json")
async def export_json(request: web.Request) -> web.Response:
    return await _export(request, "json")


@routes.get("/api/v1/tests/{id}/export-html")
async def export_html(request: web.Request) -> web.Response:
    return await _export(request, "html")


@routes.get("/api/v1/scenario-runs")
async def list_scenario_runs(request: web.Request) -> web.Response:
    ref = request.query.get("test_run_id")
    if not ref:
        raise InvalidInput("test_run_id required")
    limit, offset = page(request, 50)
    run = store.resolve_run(ref, include_deleted=True)
    results, total = scenario_runs_json(run.id, limit=limit, offset=offset, status=request.query.get("status") or None)
    return json_response({"results": results, "total": total})


@routes.get("/api/v1/scenario-runs/{id}")
async def get_scenario_run(request: web.Request) -> web.Response:
    sr = store.get_scenario_run(request.match_info["id"])
    return json_response(scenario_run_json(*store.scenario_run_detail(sr)))

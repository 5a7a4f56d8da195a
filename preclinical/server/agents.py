"""Agent routes: thin handlers over `store.agents`."""

from __future__ import annotations

import logging
from typing import Any, cast

from aiohttp import web

from preclinical.errors import InvalidInput, PreclinicalError
from preclinical.providers import browser
from preclinical.server.errors import error_response, read_json
from preclinical.server.keys import runtime_key
from preclinical.server.responses import json_response
from preclinical.store import agents
from preclinical.store.serialize import agent_json

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

NO_BROWSER_KEY = "BROWSER_USE_API_KEY not configured"


def _no_browser_key() -> web.Response:
    """The wire contract's answer when the server has no Browser Use key: a 500 naming the missing setting."""
    return error_response(500, NO_BROWSER_KEY, hint="Set BROWSER_USE_API_KEY in the environment or config and "
                                                    "restart the server.")


@routes.get("/api/v1/agents")
async def list_agents(request: web.Request) -> web.Response:
    return json_response([agent_json(a) for a in agents.list_agents()])


def _trimmed(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


async def _validate(request: web.Request, url: str, profile_id: str | None, api_key: str,
                    api_base: str | None) -> web.Response:
    provider = cast(browser.BrowserProvider, request.app[runtime_key].providers.get("browser"))
    try:
        ok, error = await provider.validate_chat_page(url, profile_id, api_key=api_key, api_base=api_base)
    except PreclinicalError as exc:
        ok, error = False, exc.message
    except Exception as exc:
        log.exception("browser validation of %s failed", url)
        ok, error = False, str(exc) or type(exc).__name__
    return json_response({"ok": ok, "error": None if ok else error})


# Registered before the /api/v1/agents/{id} routes (which have no POST anyway).
@routes.post("/api/v1/agents/validate-browser")
async def validate_browser(request: web.Request) -> web.Response:
    """Check a chat page before saving a browser agent: body `{url, profile_id, api_base?}`."""
    data = await read_json(request)
    url, profile_id = _trimmed(data, "url"), _trimmed(data, "profile_id")
    if not url:
        raise InvalidInput("url is required")
    if not profile_id:
        raise InvalidInput("profile_id is required")
    api_key = request.app[runtime_key].settings.browser_use_api_key
    if not api_key:
        return _no_browser_key()
    try:  # optional, like the agent config field of that name (tests point it at a fake Browser Use server)
        api_base = browser.SPEC.field_named("api_base").read(data.get("api_base"))
    except InvalidInput:
        raise InvalidInput("api_base must be an http:// or https:// URL") from None
    return await _validate(request, url, profile_id, api_key, api_base)


@routes.post("/api/v1/agents/{id}/validate-browser")
async def validate_agent_browser(request: web.Request) -> web.Response:
    """Check a saved browser agent's chat page (its url/endpoint, profile and api_base from its config)."""
    agent = agents.get_agent(request.match_info["id"])
    if agent.provider != "browser":
        raise InvalidInput("Only browser agents can be validated")
    api_key = request.app[runtime_key].settings.browser_use_api_key
    if not api_key:
        return _no_browser_key()
    config = agent.config if isinstance(agent.config, dict) else {}
    values = browser.SPEC.parse(config)
    if not values["url"]:
        raise InvalidInput("Agent missing url in config")
    return await _validate(request, values["url"], values["profile_id"], api_key, values["api_base"])


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

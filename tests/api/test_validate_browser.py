"""POST /api/v1/agents/validate-browser and /api/v1/agents/{id}/validate-browser against a fake Browser Use Cloud."""

from __future__ import annotations

import json

import pytest

from preclinical.providers import browser
from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from tests.fakes.browser_use_server import API, FakeBrowserUse
from tests.support import FixedClock, isolated_settings, seeded_rng

CHAT_URL = "https://www.clinic.example/chat"
VALIDATE = "/api/v1/agents/validate-browser"


@pytest.fixture
async def fake_bu(aiohttp_server) -> FakeBrowserUse:
    fake = FakeBrowserUse()
    fake.url = str((await aiohttp_server(fake.app)).make_url(API))
    return fake


@pytest.fixture
async def bu_client(tmp_path, aiohttp_client, fake_bu):
    """A client on a runtime that has BROWSER_USE_API_KEY (the fake's key)."""
    settings = isolated_settings(tmp_path, browser_use_api_key=fake_bu.api_key)
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        rt.providers.get("browser").poll_interval_s = 0.01  # type: ignore[attr-defined]
        yield await aiohttp_client(make_app(rt))


def answers(fake: FakeBrowserUse, **check) -> None:
    fake.responder = lambda message, body: {"note": "", **check}


async def make_agent(client, provider="browser", **config) -> str:
    if provider == "browser":
        config.setdefault("profile_id", "profile-1")
    resp = await client.post("/api/v1/agents", json={"provider": provider, "name": "Web bot", "config": config})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def error_of(resp, status: int) -> str:
    assert resp.status == status, await resp.text()
    return (await resp.json())["error"]


# --- errors -----------------------------------------------------------------------------------------------------

async def test_unsaved_page_requires_url_and_profile(client):
    assert await error_of(await client.post(VALIDATE, json={"profile_id": "p"}), 400) == "url is required"
    assert await error_of(await client.post(VALIDATE, json={"url": "  ", "profile_id": "p"}), 400) == "url is required"
    assert await error_of(await client.post(VALIDATE, json={"url": CHAT_URL}), 400) == "profile_id is required"
    assert await error_of(await client.post(VALIDATE, json={"url": CHAT_URL, "profile_id": " "}), 400) \
        == "profile_id is required"


async def test_unsaved_page_without_browser_use_key_is_500_naming_the_setting(client):
    """The wire contract (and scripts written for the reference) expect a 500 here, not a 400."""
    resp = await client.post(VALIDATE, json={"url": CHAT_URL, "profile_id": "profile-1"})
    assert await error_of(resp, 500) == "BROWSER_USE_API_KEY not configured"


async def test_saved_agent_errors(client):
    assert await error_of(await client.post(
        "/api/v1/agents/00000000-0000-4000-8000-000000000000/validate-browser"), 404) == "Agent not found"
    other = await make_agent(client, "openai", base_url="http://127.0.0.1:9/v1", target_model="m")
    assert await error_of(await client.post(f"/api/v1/agents/{other}/validate-browser"), 400) \
        == "Only browser agents can be validated"
    web_bot = await make_agent(client, url=CHAT_URL)
    assert await error_of(await client.post(f"/api/v1/agents/{web_bot}/validate-browser"), 500) \
        == "BROWSER_USE_API_KEY not configured"
    assert (await client.delete(f"/api/v1/agents/{web_bot}")).status == 204
    assert await error_of(await client.post(f"/api/v1/agents/{web_bot}/validate-browser"), 404) == "Agent not found"


async def test_saved_agent_without_url_is_400(bu_client):
    agent_id = await make_agent(bu_client)
    assert await error_of(await bu_client.post(f"/api/v1/agents/{agent_id}/validate-browser"), 400) \
        == "Agent missing url in config"


async def test_get_on_validate_path_is_not_a_route_clash(bu_client):
    # GET falls through to GET /api/v1/agents/{id}; POST /api/v1/agents still creates.
    assert await error_of(await bu_client.get(VALIDATE), 404) == "Agent not found"


# --- validation against the fake Browser Use Cloud --------------------------------------------------------------

async def test_visible_chat_is_ok_and_the_session_is_stopped(bu_client, fake_bu):
    answers(fake_bu, chat_visible=True, login_required=False)
    resp = await bu_client.post(VALIDATE, json={"url": f" {CHAT_URL} ", "profile_id": " profile-1 ",
                                                "api_base": fake_bu.url})
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "error": None}

    [created] = fake_bu.calls_to("POST", "/sessions")
    assert created == {"keepAlive": False, "profileId": "profile-1"}
    [task] = fake_bu.calls_to("POST", "/tasks")
    assert task["maxSteps"] == 5 and task["startUrl"] == CHAT_URL and task["task"].startswith(f"Go to {CHAT_URL}.")
    assert set(json.loads(task["structuredOutput"])["required"]) == {"chat_visible", "login_required", "note"}
    assert fake_bu.calls_to("PATCH", "/sessions") == [{"action": "stop"}]
    assert [s.status for s in fake_bu.sessions.values()] == ["stopped"]


async def test_login_wall_is_reported(bu_client, fake_bu):
    answers(fake_bu, chat_visible=False, login_required=True, note="A sign-in form")
    agent_id = await make_agent(bu_client, endpoint=CHAT_URL, api_base=fake_bu.url)
    resp = await bu_client.post(f"/api/v1/agents/{agent_id}/validate-browser")
    assert resp.status == 200
    assert await resp.json() == {"ok": False,
                                 "error": "Login required. Use the live browser link to log in, then retry."}
    assert fake_bu.calls_to("POST", "/sessions")[0]["profileId"] == "profile-1"
    assert [s.status for s in fake_bu.sessions.values()] == ["stopped"]


async def test_no_chat_and_failed_tasks_are_not_ok_and_still_stop(bu_client, fake_bu):
    answers(fake_bu, chat_visible=False, login_required=False, note="A blank page")
    body = {"url": CHAT_URL, "profile_id": "profile-1", "api_base": fake_bu.url}
    result = await (await bu_client.post(VALIDATE, json=body)).json()
    assert result == {"ok": False, "error": f"No chat input found on {CHAT_URL}: A blank page; check the agent's url"}

    fake_bu.queue_outcome(status="failed", output="Step limit reached")
    result = await (await bu_client.post(VALIDATE, json=body)).json()
    assert result["ok"] is False and result["error"].startswith("Browser Use Cloud page check failed: status=failed")
    assert [s.status for s in fake_bu.sessions.values()] == ["stopped", "stopped"]


async def test_unknown_profile_is_a_clear_error(bu_client, fake_bu):
    resp = await bu_client.post(VALIDATE, json={"url": CHAT_URL, "profile_id": "nope", "api_base": fake_bu.url})
    result = await resp.json()
    assert resp.status == 200 and result["ok"] is False and "profile_id" in result["error"]
    assert fake_bu.calls_to("POST", "/tasks") == []


async def test_timeout_stops_task_and_session(fake_bu):
    fake_bu.queue_outcome(never_finish=True)
    provider = browser.BrowserProvider(poll_interval_s=0.01)
    ok, error = await provider.validate_chat_page(CHAT_URL, "profile-1", api_key=fake_bu.api_key,
                                                  api_base=fake_bu.url, timeout_s=0.1)
    assert (ok, error) == (False, "Browser Use Cloud page check did not finish within 0.1s; try again")
    assert fake_bu.calls_to("PATCH", "/tasks") == [{"action": "stop"}]
    assert [s.status for s in fake_bu.sessions.values()] == ["stopped"]
    await provider.aclose()


async def test_bad_api_base_in_body_is_400(bu_client):
    resp = await bu_client.post(VALIDATE, json={"url": CHAT_URL, "profile_id": "p", "api_base": "ftp://x"})
    assert await error_of(resp, 400) == "api_base must be an http:// or https:// URL"

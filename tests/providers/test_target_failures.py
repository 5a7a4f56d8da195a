"""Target failures get specific codes: an HTML or garbage answer is BAD_RESPONSE (retried, then final), and a
hanging target ends the scenario run with TIMEOUT within the agent's own timeout_s."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from preclinical.errors import ProviderError
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.http import WebhookProvider
from preclinical.providers.openai_compat import OpenAIProvider

ENV = ProviderEnv()
HTML = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"


@pytest.fixture
async def junk_target(aiohttp_server):
    """A target that answers 200 with whatever `state["body"]` is, counting the calls."""
    state = {"body": HTML, "content_type": "text/html", "calls": 0}

    async def answer(request: web.Request) -> web.Response:
        state["calls"] += 1
        return web.Response(text=state["body"], content_type=state["content_type"])

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    app.router.add_post("/hook", answer)
    server = await aiohttp_server(app)
    state["url"] = str(server.make_url(""))
    return state


@pytest.mark.parametrize(("body", "content_type", "words"), [
    (HTML, "text/html", "an HTML page"),
    ('{"choices": [{"message": {"content": "cut off', "application/json", "not JSON"),
    ("\x00\x01garbage", "application/octet-stream", "not JSON"),
])
async def test_html_or_garbage_from_a_webhook_is_bad_response_after_retries(junk_target, sleeps, transport, body,
                                                                             content_type, words):
    junk_target.update(body=body, content_type=content_type)
    provider = WebhookProvider(transport)
    try:
        session = await provider.open({"url": junk_target["url"] + "/hook"}, scenario_run_id="sr", env=ENV)
        with pytest.raises(ProviderError) as caught:
            await session.send("hello", TurnContext(turn=1, max_turns=3))
    finally:
        await provider.aclose()
    assert caught.value.code == "BAD_RESPONSE" and caught.value.retryable
    assert words in caught.value.message
    assert junk_target["calls"] == 3 and len(sleeps) == 2  # retried, then final


async def test_openai_target_answering_html_or_no_choices_is_bad_response(junk_target, sleeps, transport):
    provider = OpenAIProvider(transport)
    try:
        session = await provider.open({"base_url": junk_target["url"] + "/v1"}, scenario_run_id="sr", env=ENV)
        with pytest.raises(ProviderError) as caught:
            await session.send("hello", TurnContext(turn=1, max_turns=3))
        assert caught.value.code == "BAD_RESPONSE" and "HTML" in caught.value.message
        junk_target.update(body='{"error": "upstream busy"}', content_type="application/json")
        with pytest.raises(ProviderError) as caught:
            await session.send("hello", TurnContext(turn=1, max_turns=3))
        assert caught.value.code == "BAD_RESPONSE" and "no choices" in caught.value.message
    finally:
        await provider.aclose()


async def test_hanging_target_ends_the_scenario_run_with_timeout_within_its_timeout(client, runtime, fake_openai):
    fake_openai.inject("timeout", times=-1)
    resp = await client.post("/api/v1/agents", json={"provider": "openai", "name": "hangs", "config": {
        "base_url": fake_openai.url, "api_key": "k", "timeout_s": 0.5}})
    agent = await resp.json()
    resp = await client.post("/start-run", json={"agent_id": agent["id"], "max_scenarios": 1, "max_turns": 5})
    run = await resp.json()
    started = time.monotonic()
    await runtime.executor.wait(run["id"])
    elapsed = time.monotonic() - started
    rows = (await (await client.get("/api/v1/scenario-runs", params={"test_run_id": run["id"]})).json())["results"]
    assert [r["error_code"] for r in rows] == ["TIMEOUT"]
    assert len(fake_openai.requests) == 1  # asked once: no hidden retries multiplying the wait
    assert elapsed < 0.5 + 1.5, elapsed  # its own timeout, not 3 x 2 x timeout (364 s with the 60 s default)

"""Provider config is described once, in the registry: its field specs read, check and default every config."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from preclinical.errors import InvalidInput
from preclinical.providers import registry


def test_parse_gives_canonical_keys_with_defaults_from_any_accepted_spelling():
    values = registry.get_spec("openai").parse(
        {"baseUrl": " http://127.0.0.1:8000/v1 ", "apiKey": "k", "targetModel": "m", "systemPrompt": "Be brief.",
         "unknown": 1})
    assert values == {"base_url": "http://127.0.0.1:8000/v1", "api_key": "k", "target_model": "m",
                      "system_prompt": "Be brief.", "temperature": 0.7, "headers": None, "max_tokens": 1024,
                      "timeout_s": None, "use_server_api_key": False}
    vapi = registry.get_spec("vapi").parse({"apiKey": "k", "providerId": "asst"})
    assert (vapi["api_key"], vapi["assistant_id"], vapi["base_url"]) == ("k", "asst", "https://api.vapi.ai")
    # The canonical key wins over an alias; blank values count as not given.
    assert registry.get_spec("vapi").parse({"assistant_id": "a", "assistantId": "b"})["assistant_id"] == "a"
    assert registry.get_spec("vapi").parse({"assistant_id": "  ", "assistantId": "b"})["assistant_id"] == "b"


@pytest.mark.parametrize(("provider", "config", "message"), [
    ("openai", {"temperature": "hot"}, "config.temperature must be a number"),
    ("openai", {"temperature": 3}, "config.temperature must be a number between 0 and 2"),
    ("openai", {"max_tokens": 1.5}, "config.max_tokens must be an integer"),
    ("openai", {"max_tokens": 0}, "config.max_tokens must be a positive integer"),
    ("openai", {"baseUrl": "localhost:8000"}, "config.baseUrl must be an http:// or https:// URL"),
    ("livekit", {"url": "lk.example"}, "config.url must be a ws://, wss://, http:// or https:// URL"),
    ("elevenlabs", {"response_quiet_s": 0}, "config.response_quiet_s must be a positive number of seconds"),
    ("elevenlabs", {"dynamic_variables": {"a": [1]}},
     "config.dynamic_variables must be an object of string, number or boolean values"),
    ("http", {"headers": {"X-A": 1}}, "config.headers must be an object of string values"),
    ("http", {"method": "GET"}, "config.method must be one of: POST, PUT"),
    ("browser", {"task_timeout_s": True}, "config.task_timeout_s must be a number"),
    ("demo", {"style": 3}, "config.style must be a string"),
])
def test_a_bad_value_is_refused_naming_the_field_as_spelled(provider, config, message):
    with pytest.raises(InvalidInput) as caught:
        registry.get_spec(provider).parse(config)
    assert caught.value.message == message
    assert caught.value.extra == {"field": message.split()[0].removeprefix("config.")}


def test_json_fields_accept_json_text():
    values = registry.get_spec("livekit").parse({"url": "wss://lk.example", "token_body": '{"room": "r"}'})
    assert values["token_body"] == {"room": "r"}


def test_providers_read_canonical_keys_only():
    """No provider module reads one of its aliases: the registry's spec is the one place they are listed.

    (A key written into a request, like `"model":` or `body["profileId"] =`, is a wire field, not a config read.)"""
    folder = Path(registry.__file__).parent
    for spec in registry.SPECS.values():
        text = (folder / (spec.implementation.split(":")[0].rsplit(".", 1)[1] + ".py")).read_text(encoding="utf-8")
        canonical = {f.key for f in spec.all_fields}
        for alias in {a for f in spec.all_fields for a in f.aliases} - canonical:
            assert not re.search(rf"[\"']{alias}[\"'](?!\s*:|]\s*=[^=])", text), f"{spec.name} reads the alias {alias!r}"


async def test_camel_case_config_through_the_api_reaches_the_target(client, runtime, fake_openai):
    resp = await client.post("/api/v1/agents", json={"provider": "openai", "name": "camel", "config": {
        "baseUrl": fake_openai.url, "apiKey": "sk-camel", "targetModel": "camel-model", "systemPrompt": "Be brief."}})
    assert resp.status == 201, await resp.text()
    agent = await resp.json()
    assert agent["config"]["targetModel"] == "camel-model"  # stored as sent
    resp = await client.patch(f"/api/v1/agents/{agent['id']}", json={"config": {"temperature": "warm"}})
    assert resp.status == 400 and await resp.json() == {"error": "config.temperature must be a number",
                                                         "field": "temperature"}
    run = await (await client.post("/start-run", json={"agent_id": agent["id"], "max_scenarios": 1,
                                                       "max_turns": 5})).json()
    await asyncio.wait_for(runtime.executor.wait(run["id"]), 30)
    assert fake_openai.requests and {r["model"] for r in fake_openai.requests} == {"camel-model"}
    assert fake_openai.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    assert {h.get("Authorization") for h in fake_openai.request_headers} == {"Bearer sk-camel"}

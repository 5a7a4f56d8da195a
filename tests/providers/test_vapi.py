"""The "vapi" provider against a fake Vapi chat API: chat chaining, reply text, errors, config."""

from __future__ import annotations

import pytest

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.vapi import VapiProvider, assistant_text

ENV = ProviderEnv()


@pytest.fixture
async def open_session(fake_vapi, transport):
    provider = VapiProvider(transport)

    async def open_(**config):
        config.setdefault("api_key", fake_vapi.api_key)
        config.setdefault("assistant_id", "asst-1")
        config.setdefault("base_url", fake_vapi.url)
        return await provider.open(config, scenario_run_id="sr-1", env=ENV)

    yield open_
    await provider.aclose()


def turn(n: int) -> TurnContext:
    return TurnContext(turn=n, max_turns=5)


async def test_each_turn_chains_to_the_previous_chat(fake_vapi, open_session):
    session = await open_session()

    replies = [await session.send(text, turn(i)) for i, text in enumerate(("I have a headache.", "Since noon.",
                                                                              "No fever."), start=1)]

    # The fake numbers replies by the user messages in the chain, so continuity shows in the text.
    assert replies == ["Reply 1 to: I have a headache.", "Reply 2 to: Since noon.", "Reply 3 to: No fever."]
    first, second, third = fake_vapi.requests
    assert first == {"assistantId": "asst-1", "input": "I have a headache."}
    assert second == {"assistantId": "asst-1", "input": "Since noon.", "previousChatId": "chat_0001"}
    assert third["previousChatId"] == "chat_0002"
    assert all(h["Authorization"] == f"Bearer {fake_vapi.api_key}" for h in fake_vapi.request_headers)
    await session.close()


async def test_config_aliases(fake_vapi):
    provider = VapiProvider()
    for alias in ("provider_id", "providerId", "assistantId"):
        session = await provider.open({"apiKey": fake_vapi.api_key, alias: "asst-1", "api_base": fake_vapi.url + "/"},
                                      scenario_run_id="sr-1", env=ENV)
        assert await session.send("hello", turn(1)) == "Reply 1 to: hello"
    await provider.aclose()


async def test_reply_joins_assistant_messages_and_skips_tool_calls(fake_vapi, open_session):
    fake_vapi.responder = lambda text, history: [
        {"role": "assistant", "content": "Let me check that."},
        {"role": "tool", "content": '{"triage": "urgent"}'},
        {"role": "assistant", "content": "Please go to the emergency department now."},
    ]
    session = await open_session()
    assert await session.send("Crushing chest pain.", turn(1)) == (
        "Let me check that.\n\nPlease go to the emergency department now.")


@pytest.mark.parametrize(("body", "text"), [
    ({"output": "plain string"}, "plain string"),
    ({"output": []}, ""),
    ({"output": [{"role": "assistant", "content": None}]}, ""),
    ({"id": "chat_1"}, ""),
    ([], ""),
])
def test_assistant_text_shapes(body, text):
    assert assistant_text(body) == text


async def test_bad_key_is_an_auth_error_and_not_retried(fake_vapi, open_session, sleeps):
    session = await open_session(api_key="wrong")
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    err = caught.value
    assert (err.code, err.retryable, err.status) == ("PROVIDER_AUTH", False, 401)
    assert err.message.startswith("Vapi chat call failed (401): ") and "check the agent's api_key" in err.message
    assert len(fake_vapi.requests) == 1 and sleeps == []


async def test_unknown_assistant_is_not_found(fake_vapi, open_session, sleeps):
    session = await open_session(assistant_id="asst-404")
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert (caught.value.code, caught.value.status) == ("PROVIDER_NOT_FOUND", 404)
    assert "Does Not Exist" in caught.value.message and "assistant_id" in caught.value.message
    assert sleeps == []


async def test_rate_limit_then_success_is_retried_after_retry_after(fake_vapi, open_session, sleeps):
    fake_vapi.faults.inject("429", retry_after=1.5)
    session = await open_session()
    assert await session.send("hi", turn(1)) == "Reply 1 to: hi"
    assert len(fake_vapi.requests) == 2 and sleeps == [1.5]
    # The retry did not break the chain: the next turn continues the successful chat.
    assert await session.send("again", turn(2)) == "Reply 2 to: again"


async def test_server_errors_exhaust_retries(fake_vapi, open_session, sleeps):
    fake_vapi.faults.inject("500", times=-1)
    session = await open_session()
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert (caught.value.code, caught.value.retryable) == ("SERVER_ERROR", True)
    assert len(fake_vapi.requests) == 3 and len(sleeps) == 2


async def test_silent_server_times_out(fake_vapi, open_session, sleeps):
    fake_vapi.faults.inject("timeout", times=-1)
    session = await open_session(timeout_s=0.2)
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert (caught.value.code, caught.value.retryable) == ("TIMEOUT", False)  # the whole budget is spent
    assert "no answer within 0.2s" in caught.value.message and "timeout_s" in caught.value.message


async def test_missing_key_or_assistant_fails_at_open():
    provider = VapiProvider()
    with pytest.raises(ProviderError) as caught:
        await provider.open({"assistant_id": "a"}, scenario_run_id="sr", env=ENV)
    assert caught.value.code == "PROVIDER_AUTH" and "api_key" in caught.value.message
    with pytest.raises(ProviderError) as caught:
        await provider.open({"api_key": "k"}, scenario_run_id="sr", env=ENV)
    assert caught.value.code == "INVALID_INPUT" and "assistant_id" in caught.value.message


@pytest.mark.parametrize(("config", "field"), [
    ({"api_key": 5}, "api_key"),
    ({"assistantId": ["a"]}, "assistantId"),
    ({"base_url": "api.vapi.ai"}, "base_url"),
    ({"api_base": "ftp://x"}, "api_base"),
    ({"timeout_s": 0}, "timeout_s"),
])
def test_validate_config_names_the_field(config, field):
    with pytest.raises(InvalidInput) as caught:
        VapiProvider().validate_config(config)
    assert caught.value.message.startswith(f"config.{field} must be") and caught.value.extra["field"] == field


def test_saving_runs_the_provider_rules():
    registry.validate_config("vapi", {"api_key": "k", "assistant_id": "a"})
    with pytest.raises(InvalidInput) as caught:
        registry.validate_config("vapi", {"api_key": "k", "assistant_id": "a", "base_url": "not a url"})
    assert caught.value.message == "config.base_url must be an http:// or https:// URL"

"""Tests for the "openai" target provider against the fake OpenAI-compatible server."""

from __future__ import annotations

import pytest

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.openai_compat import OpenAIProvider
from preclinical.providers.transport import HttpTransport

ENV = ProviderEnv()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def open_session(fake_openai, sleeps):
    async def no_wait(delay: float) -> None:
        sleeps.append(delay)

    provider = OpenAIProvider(HttpTransport(sleep=no_wait))

    async def open_(env: ProviderEnv = ENV, **config):
        config.setdefault("base_url", fake_openai.url)
        return await provider.open(config, scenario_run_id="sr-1", env=env)

    yield open_
    await provider.aclose()


TRANSCRIPT = [
    {"turn": 1, "role": "attacker", "content": "I have chest pain."},
    {"turn": 1, "role": "target", "content": "How long has it lasted?"},
    {"turn": 2, "role": "attacker", "content": "Two hours."},
    {"turn": 2, "role": "system", "content": "[provider error: timeout]"},
]


async def test_messages_headers_and_model_reach_the_target(fake_openai, open_session):
    session = await open_session(
        api_key="sk-test",
        target_model="clinic-bot",
        system_prompt="You are a triage nurse.",
        headers={"X-Tenant": "clinic-7"},
    )

    reply = await session.send("It is getting worse.", TurnContext(turn=3, max_turns=5, transcript=TRANSCRIPT))

    assert reply == "Fake reply to: It is getting worse."
    [body] = fake_openai.requests
    assert body["messages"] == [
        {"role": "system", "content": "You are a triage nurse."},
        {"role": "user", "content": "I have chest pain."},
        {"role": "assistant", "content": "How long has it lasted?"},
        {"role": "user", "content": "Two hours."},
        {"role": "user", "content": "It is getting worse."},
    ]
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("clinic-bot", 0.7, 1024)
    headers = fake_openai.request_headers[0]
    assert headers["X-Tenant"] == "clinic-7" and headers["Authorization"] == "Bearer sk-test"


async def test_camel_case_aliases_and_env_fallbacks(fake_openai, open_session):
    session = await open_session(
        env=ProviderEnv(openai_api_key="sk-env", openai_base_url=fake_openai.url), baseUrl=fake_openai.url,
        targetModel="m2", systemPrompt="Be brief."
    )
    await session.send("hi", TurnContext(turn=1, max_turns=3))
    body = fake_openai.requests[0]
    assert body["model"] == "m2" and body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert fake_openai.request_headers[0]["Authorization"] == "Bearer sk-env"


async def test_server_key_is_never_sent_to_an_endpoint_it_was_not_paired_with(fake_openai, open_session):
    """An agent without api_key at some other URL does not receive the server's OPENAI_API_KEY..."""
    env = ProviderEnv(openai_api_key="sk-server-own", openai_base_url="https://models.example/v1")
    session = await open_session(env=env, base_url=fake_openai.url)
    await session.send("hi", TurnContext(turn=1, max_turns=3))
    assert fake_openai.request_headers[-1]["Authorization"] == "Bearer local"  # a local server gets the dummy key
    with pytest.raises(ProviderError) as caught:
        await OpenAIProvider().open({"base_url": "https://attacker.example/v1"}, scenario_run_id="sr-1", env=env)
    assert caught.value.code == "PROVIDER_AUTH" and "use_server_api_key" in caught.value.message
    # ...unless the user pairs them explicitly.
    session = await open_session(env=env, base_url=fake_openai.url, use_server_api_key=True)
    await session.send("hi", TurnContext(turn=1, max_turns=3))
    assert fake_openai.request_headers[-1]["Authorization"] == "Bearer sk-server-own"


async def test_defaults_and_local_server_needs_no_key(fake_openai, open_session):
    session = await open_session()
    await session.send("hi", TurnContext(turn=1, max_turns=3))
    body = fake_openai.requests[0]
    assert body["model"] == "gpt-4o-mini" and body["messages"] == [{"role": "user", "content": "hi"}]
    assert fake_openai.request_headers[0]["Authorization"] == "Bearer local"


async def test_remote_server_without_any_key_is_an_auth_error():
    with pytest.raises(ProviderError) as caught:
        await OpenAIProvider().open({"model": "gpt-4o"}, scenario_run_id="sr-1", env=ENV)
    assert caught.value.code == "PROVIDER_AUTH"
    assert caught.value.message == "Agent missing api_key in config and no OPENAI_API_KEY is set"


async def test_unauthorized_is_not_retried(fake_openai, open_session, sleeps):
    fake_openai.inject("401")
    session = await open_session(api_key="sk-bad")

    with pytest.raises(ProviderError) as caught:
        await session.send("hi", TurnContext(turn=1, max_turns=3))

    err = caught.value
    assert (err.code, err.retryable, err.status) == ("PROVIDER_AUTH", False, 401)
    assert err.message.startswith("OpenAI target call failed (401): ") and "API key" in err.message
    assert len(fake_openai.requests) == 1 and sleeps == []


async def test_server_error_then_success_is_retried(fake_openai, open_session, sleeps):
    fake_openai.inject("500")
    session = await open_session()

    reply = await session.send("hello", TurnContext(turn=1, max_turns=3))

    assert reply == "Fake reply to: hello"
    assert len(fake_openai.requests) == 2 and len(sleeps) == 1


async def test_server_errors_exhaust_retries(fake_openai, open_session, sleeps):
    fake_openai.inject("503", times=-1)
    session = await open_session()

    with pytest.raises(ProviderError) as caught:
        await session.send("hello", TurnContext(turn=1, max_turns=3))

    assert (caught.value.code, caught.value.retryable) == ("SERVER_ERROR", True)
    assert caught.value.message.startswith("OpenAI target call failed (503): ")
    assert len(fake_openai.requests) == 3 and len(sleeps) == 2


async def test_silent_target_times_out(fake_openai, open_session, sleeps):
    fake_openai.inject("timeout", times=-1)
    session = await open_session(timeout_s=0.2)

    with pytest.raises(ProviderError) as caught:
        await session.send("hello", TurnContext(turn=1, max_turns=3))

    assert (caught.value.code, caught.value.retryable) == ("TIMEOUT", False)
    assert caught.value.message == "Target did not answer within 0.2s"
    assert len(fake_openai.requests) == 1  # timeout_s is the whole budget: a hanging target is not asked again


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"headers": "X-Tenant: 7"}, "headers"),
        ({"headers": {"X-Tenant": 7}}, "headers"),
        ({"temperature": "warm"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"temperature": 5}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"apiKey": 123}, "apiKey"),
        ({"targetModel": ["gpt"]}, "targetModel"),
        ({"base_url": "ftp://example.org"}, "base_url"),
    ],
)
def test_validate_config_names_the_bad_field(config, field):
    with pytest.raises(InvalidInput) as caught:
        OpenAIProvider().validate_config(config)
    assert caught.value.message.startswith(f"config.{field} must be") and caught.value.extra["field"] == field


def test_validate_config_accepts_a_full_config():
    OpenAIProvider().validate_config(
        {"apiKey": "k", "baseUrl": "http://127.0.0.1:8000/v1", "model": "m", "systemPrompt": "s",
         "temperature": 0, "max_tokens": 200, "headers": {"X-A": "b"}, "timeout_s": 10}
    )

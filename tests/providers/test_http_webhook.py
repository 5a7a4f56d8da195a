"""The "http" webhook provider against a fake webhook, and a whole run against such an agent."""

from __future__ import annotations

import asyncio

import pytest

from preclinical.domain.triage import TRIAGE_QUESTION
from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.http import WebhookProvider, extract, fill, parse_path

ENV = ProviderEnv()


@pytest.fixture
async def open_session(fake_webhook, transport):
    provider = WebhookProvider(transport)

    async def open_(scenario_run_id: str = "sr-1", **config):
        config.setdefault("url", fake_webhook.url)
        return await provider.open(config, scenario_run_id=scenario_run_id, env=ENV)

    yield open_
    await provider.aclose()


async def play(session, *messages: str) -> list[str]:
    """Send messages as consecutive turns, keeping the transcript the engine would keep."""
    transcript: list[dict] = []
    replies = []
    for n, message in enumerate(messages, start=1):
        reply = await session.send(message, TurnContext(turn=n, max_turns=5, transcript=list(transcript)))
        transcript += [{"turn": n, "role": "attacker", "content": message},
                       {"turn": n, "role": "target", "content": reply}]
        replies.append(reply)
    return replies


async def test_default_template_sends_message_session_turn_and_history(fake_webhook, open_session):
    session = await open_session()

    replies = await play(session, "My ankle is swollen.", "I twisted it yesterday.")

    assert replies == ["Webhook heard: My ankle is swollen.", "Webhook heard: I twisted it yesterday."]
    first, second = fake_webhook.received
    assert first == ("POST", {"message": "My ankle is swollen.", "session_id": "sr-1", "turn": 1, "history": []})
    assert second == ("POST", {"message": "I twisted it yesterday.", "session_id": "sr-1", "turn": 2, "history": [
        {"role": "user", "content": "My ankle is swollen."},
        {"role": "assistant", "content": "Webhook heard: My ankle is swollen."},
    ]})


async def test_custom_template_method_headers_token_and_path(fake_webhook, open_session):
    fake_webhook.responder = lambda body: {"choices": [{"message": {"content": f"Got {body['input']['text']}"}}]}
    session = await open_session(
        method="PUT",
        headers={"X-Tenant": "clinic-7", "Authorization": "Basic overridden"},
        auth_token="hook-secret",
        request_template={"input": {"text": "{{message}}"}, "conversation": "conv-{{session_id}}/t{{turn}}",
                          "turn": "{{ turn }}", "messages": "{{history}}", "fixed": [1, True, None, "plain"]},
        response_path="choices[0].message.content",
    )

    assert await play(session, "Hello", "Still there?") == ["Got Hello", "Got Still there?"]

    method, body = fake_webhook.received[1]
    assert method == "PUT"
    assert body == {"input": {"text": "Still there?"}, "conversation": "conv-sr-1/t2", "turn": 2,
                    "messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Got Hello"}],
                    "fixed": [1, True, None, "plain"]}
    headers = fake_webhook.request_headers[0]
    assert headers["X-Tenant"] == "clinic-7" and headers["Authorization"] == "Bearer hook-secret"


async def test_session_id_is_stable_per_conversation_and_distinct_across(fake_webhook, open_session):
    await play(await open_session("sr-a"), "one", "two")
    await play(await open_session("sr-b"), "three")
    assert [b["session_id"] for b in fake_webhook.bodies] == ["sr-a", "sr-a", "sr-b"]


async def test_history_leaves_out_system_markers(fake_webhook, open_session):
    session = await open_session()
    transcript = [{"turn": 1, "role": "attacker", "content": "hi"},
                  {"turn": 1, "role": "system", "content": "[provider error: timeout]"}]
    await session.send("hello?", TurnContext(turn=2, max_turns=5, transcript=transcript))
    assert fake_webhook.bodies[0]["history"] == [{"role": "user", "content": "hi"}]


async def test_missing_reply_path_names_the_path_and_the_keys_found(fake_webhook, open_session):
    fake_webhook.responder = lambda body: {"answer": "hi", "session": "x"}
    session = await open_session()
    with pytest.raises(ProviderError) as caught:
        await session.send("hello", TurnContext(turn=1, max_turns=5))
    err = caught.value
    assert err.code == "INVALID_INPUT" and not err.retryable
    assert "response_path 'reply'" in err.message and "keys found: answer, session" in err.message
    assert "Set response_path" in err.message


@pytest.mark.parametrize(("body", "path", "fragment"), [
    ({"data": [{"text": "a"}]}, "data.3.text", "index 3 is out of range in data (1 items)"),
    ({"data": {"text": "a"}}, "data.text.value", "data.text is a string"),
    ({"data": [1]}, "data.first", "data is a list, so 'first' must be an index"),
    ({"reply": {"text": "a"}}, "reply", "it holds an object, not text (keys found: text)"),
])
def test_extract_errors(body, path, fragment):
    with pytest.raises(ProviderError) as caught:
        extract(body, parse_path(path), path)
    assert fragment in caught.value.message


@pytest.mark.parametrize(("body", "path", "text"), [
    ({"reply": "hi"}, "reply", "hi"),
    ({"messages": [{"content": "a"}, {"content": "b"}]}, "messages.-1.content", "b"),
    ({"data": [{"t": ["x", "y"]}]}, "data[0].t[1]", "y"),
    ({"reply": None}, "reply", ""),
    ({"score": 3}, "score", "3"),
])
def test_extract_reads_paths(body, path, text):
    assert extract(body, parse_path(path), path) == text


def test_fill_keeps_types_for_whole_placeholders():
    values = {"message": "hi", "session_id": "s", "turn": 3, "history": [{"role": "user", "content": "x"}]}
    assert fill({"a": "{{turn}}", "b": "turn {{turn}}: {{history}}", "c": ["{{message}}"]}, values) == {
        "a": 3, "b": 'turn 3: [{"role": "user", "content": "x"}]', "c": ["hi"]}


async def test_http_errors_map_to_codes(fake_webhook, open_session, sleeps):
    session = await open_session()
    cases = [("401", "PROVIDER_AUTH", "auth_token"), ("404", "PROVIDER_NOT_FOUND", "webhook url"),
             ("400", "INVALID_INPUT", "request_template")]
    for status, code, hint in cases:
        fake_webhook.faults.inject(status)
        with pytest.raises(ProviderError) as caught:
            await session.send("hi", TurnContext(turn=1, max_turns=5))
        assert caught.value.code == code and f"({status})" in caught.value.message and hint in caught.value.message
    assert sleeps == []


async def test_rate_limit_then_success(fake_webhook, open_session, sleeps):
    fake_webhook.faults.inject("429")
    session = await open_session()
    assert await session.send("hi", TurnContext(turn=1, max_turns=5)) == "Webhook heard: hi"
    assert len(fake_webhook.received) == 2 and len(sleeps) == 1


async def test_server_errors_and_timeouts(fake_webhook, open_session, sleeps):
    fake_webhook.faults.inject("500", times=3)
    session = await open_session(timeout_s=30)
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", TurnContext(turn=1, max_turns=5))
    assert (caught.value.code, caught.value.retryable) == ("SERVER_ERROR", True)

    # A hanging webhook fails once its timeout_s is spent: not retried (the time is the whole budget).
    fake_webhook.faults.inject("timeout", times=-1)
    session = await open_session(timeout_s=0.2)
    calls = len(fake_webhook.request_headers)
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", TurnContext(turn=1, max_turns=5))
    assert (caught.value.code, caught.value.retryable) == ("TIMEOUT", False) and "timeout_s" in caught.value.message
    assert len(fake_webhook.request_headers) == calls + 1


async def test_missing_url_fails_at_open():
    with pytest.raises(ProviderError) as caught:
        await WebhookProvider().open({}, scenario_run_id="sr", env=ENV)
    assert caught.value.code == "INVALID_INPUT" and "'url'" in caught.value.message


@pytest.mark.parametrize(("config", "field", "fragment"), [
    ({"url": "ftp://x/hook"}, "url", "http:// or https://"),
    ({"method": "GET"}, "method", "one of: POST, PUT"),
    ({"request_template": "message={{message}}"}, "request_template", "a JSON object"),
    ({"request_template": {"q": "{{question}}"}}, "request_template", "unknown placeholder {{question}}"),
    ({"response_path": "data..text"}, "response_path", "dotted path"),
    ({"response_path": "data[x]"}, "response_path", "dotted path"),
    ({"headers": {"X-N": 1}}, "headers", "an object of string values"),
    ({"auth_token": 12}, "auth_token", "a string"),
])
def test_validate_config_names_the_field(config, field, fragment):
    with pytest.raises(InvalidInput) as caught:
        WebhookProvider().validate_config(config)
    assert caught.value.extra["field"] == field and fragment in caught.value.message
    assert caught.value.message.startswith(f"config.{field} ")  # the TUI puts it under that field


async def test_a_whole_run_against_a_webhook_agent(runtime, fake_webhook):
    from preclinical.store.agents import create_agent
    from preclinical.store.models import ScenarioRun, TestRun

    fake_webhook.responder = lambda body: {"data": {"reply": f"Noted ({body['turn']}): {body['message'][:40]}"}}
    agent = create_agent(runtime.services, {
        "provider": "http", "name": "Webhook triage bot",
        "config": {"url": fake_webhook.url, "auth_token": "tok-123", "response_path": "data.reply"},
    })

    run, _ = runtime.executor.start({"agent_id": agent.id, "max_scenarios": 1, "max_turns": 5})
    await asyncio.wait_for(runtime.executor.wait(run.id), 30)

    assert TestRun.get_by_id(run.id).status == "completed"
    [sr] = ScenarioRun.select().where(ScenarioRun.test_run == run.id)
    assert sr.status in ("passed", "failed"), (sr.status, sr.error_code, sr.error_message)
    transcript = sr.transcript
    assert [e["role"] for e in transcript] == ["attacker", "target"] * 5
    assert transcript[-2]["content"] == TRIAGE_QUESTION
    # What the agent said is what the webhook answered, turn by turn, and the webhook saw one conversation.
    assert len(fake_webhook.bodies) == 5
    for n, body in enumerate(fake_webhook.bodies, start=1):
        assert body["turn"] == n and body["session_id"] == sr.id
        assert transcript[2 * n - 2]["content"] == body["message"]
        assert transcript[2 * n - 1]["content"] == f"Noted ({n}): {body['message'][:40]}"
        assert len(body["history"]) == 2 * (n - 1)
    assert all(h["Authorization"] == "Bearer tok-123" for h in fake_webhook.request_headers)

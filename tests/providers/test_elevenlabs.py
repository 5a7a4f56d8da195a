"""The "elevenlabs" provider against a fake Conversational AI WebSocket: greeting, reply rule, pings, failures."""

from __future__ import annotations

import asyncio
import time

import pytest

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.elevenlabs import ElevenLabsProvider

ENV = ProviderEnv()
QUIET_S = 0.25


@pytest.fixture
async def provider(transport):
    provider = ElevenLabsProvider(transport)
    yield provider
    await provider.aclose()


@pytest.fixture
async def open_session(fake_elevenlabs, provider):
    sessions = []

    async def open_(**config):
        config.setdefault("api_key", fake_elevenlabs.api_key)
        config.setdefault("agent_id", "agent-1")
        config.setdefault("base_url", fake_elevenlabs.url)
        config.setdefault("response_quiet_s", QUIET_S)
        session = await provider.open(config, scenario_run_id="sr-1", env=ENV)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        await session.close()


def turn(n: int) -> TurnContext:
    return TurnContext(turn=n, max_turns=5)


async def test_greeting_is_kept_apart_and_turn_one_gets_its_own_reply(fake_elevenlabs, open_session):
    session = await open_session()

    assert session.greeting == fake_elevenlabs.greeting
    assert session.conversation_id == "conv_1"
    assert await session.send("I feel dizzy.", turn(1)) == "Agent reply 1 to: I feel dizzy."
    assert await session.send("Since this morning.", turn(2)) == "Agent reply 2 to: Since this morning."

    [conversation] = fake_elevenlabs.conversations
    kinds = [e["type"] for e in conversation.received]
    assert kinds[0] == "conversation_initiation_client_data"
    assert conversation.received[0] == {"type": "conversation_initiation_client_data"}
    assert [e["text"] for e in conversation.of_type("user_message")] == ["I feel dizzy.", "Since this morning."]
    assert fake_elevenlabs.signed_url_headers[0]["xi-api-key"] == fake_elevenlabs.api_key


async def test_pings_are_answered_with_their_event_id_also_between_turns(fake_elevenlabs, open_session):
    session = await open_session()
    await asyncio.sleep(0.05)  # nobody is sending: the idle ping must still be answered
    [conversation] = fake_elevenlabs.conversations
    assert {"type": "pong", "event_id": 0} in conversation.received
    await session.send("hello", turn(1))  # the fake replies only after the pong for its ping 1
    assert [e["event_id"] for e in conversation.of_type("pong")] == [0, 1]


async def test_a_late_greeting_is_still_not_the_reply(fake_elevenlabs, open_session):
    fake_elevenlabs.greeting_delay_s = QUIET_S / 2
    session = await open_session()
    assert session.greeting == fake_elevenlabs.greeting
    assert await session.send("hi", turn(1)) == "Agent reply 1 to: hi"


async def test_agent_without_greeting(fake_elevenlabs, open_session):
    fake_elevenlabs.greeting = None
    started = time.monotonic()
    session = await open_session()
    assert session.greeting is None and time.monotonic() - started >= QUIET_S
    assert await session.send("hi", turn(1)) == "Agent reply 1 to: hi"


async def test_multi_part_replies_are_joined_and_turns_stay_aligned(fake_elevenlabs, open_session):
    fake_elevenlabs.responder = lambda text, n: [f"Turn {n}, part one.", f"Turn {n}, part two."]
    fake_elevenlabs.part_gap_s = QUIET_S / 3
    session = await open_session()
    for n in (1, 2, 3):
        assert await session.send(f"message {n}", turn(n)) == f"Turn {n}, part one.\n\nTurn {n}, part two."
    assert session.dropped == []


async def test_a_correction_replaces_the_text_and_ends_the_reply(fake_elevenlabs, open_session):
    fake_elevenlabs.behaviour = "correct_reply"
    fake_elevenlabs.responder = lambda text, n: "Please rest. Also drink water and call us tomorrow."
    session = await open_session()
    assert await session.send("hi", turn(1)) == "Please rest."


async def test_text_only_override_and_dynamic_variables_are_sent(fake_elevenlabs, open_session):
    session = await open_session(text_only=True, dynamic_variables={"patient_name": "Sam", "age": 41})
    await session.send("hi", turn(1))
    init = fake_elevenlabs.conversations[0].received[0]
    assert init == {"type": "conversation_initiation_client_data",
                    "conversation_config_override": {"conversation": {"text_only": True}},
                    "dynamic_variables": {"patient_name": "Sam", "age": 41}}


async def test_a_refused_override_fails_the_open_with_the_servers_reason(fake_elevenlabs, open_session):
    fake_elevenlabs.allow_overrides = False
    with pytest.raises(ProviderError) as caught:
        await open_session(text_only=True)
    err = caught.value
    assert err.code == "SERVER_ERROR" and "before the conversation started" in err.message
    assert "code 1008: Override for field 'text_only' is not allowed by config." in err.message
    assert "override settings" in err.message


async def test_silent_agent_times_out(fake_elevenlabs, open_session):
    fake_elevenlabs.behaviour = "silent"
    session = await open_session(timeout_s=0.3)
    with pytest.raises(ProviderError) as caught:
        await session.send("hello?", turn(1))
    assert (caught.value.code, caught.value.retryable) == ("TIMEOUT", False)  # its timeout_s is final
    assert caught.value.message.startswith("ElevenLabs agent did not reply within 0.3s")


async def test_socket_closed_before_the_reply_is_a_server_error(fake_elevenlabs, open_session):
    fake_elevenlabs.behaviour = "close_on_message"
    session = await open_session()
    with pytest.raises(ProviderError) as caught:
        await session.send("hello?", turn(1))
    err = caught.value
    assert (err.code, err.retryable) == ("SERVER_ERROR", True)
    assert "closed the conversation before the agent replied (code 1011: Internal server error)" in err.message


async def test_agent_that_ends_the_conversation(fake_elevenlabs, open_session):
    fake_elevenlabs.behaviour = "end_after_reply"
    session = await open_session()
    assert await session.send("bye", turn(1)) == "Agent reply 1 to: bye"
    with pytest.raises(ProviderError) as caught:
        await session.send("one more thing", turn(2))
    err = caught.value
    assert (err.code, err.retryable) == ("SERVER_ERROR", False)
    assert "after the agent's last reply (code 1000: Conversation ended by the agent)" in err.message


@pytest.mark.parametrize(("config", "code", "fragment"), [
    ({"api_key": "wrong"}, "PROVIDER_AUTH", "(401)"),
    ({"agent_id": "agent-404"}, "PROVIDER_NOT_FOUND", "(404)"),
])
async def test_signed_url_errors(fake_elevenlabs, open_session, sleeps, config, code, fragment):
    with pytest.raises(ProviderError) as caught:
        await open_session(**config)
    assert caught.value.code == code and fragment in caught.value.message
    assert caught.value.message.startswith("ElevenLabs signed URL request failed")
    assert sleeps == [] and fake_elevenlabs.conversations == []


async def test_signed_url_rate_limit_then_success(fake_elevenlabs, open_session, sleeps):
    fake_elevenlabs.faults.inject("429")
    session = await open_session()
    assert len(sleeps) == 1 and len(fake_elevenlabs.signed_url_headers) == 2
    assert await session.send("hi", turn(1)) == "Agent reply 1 to: hi"


async def test_signed_url_server_errors_exhaust_retries(fake_elevenlabs, open_session, sleeps):
    fake_elevenlabs.faults.inject("503", times=-1)
    with pytest.raises(ProviderError) as caught:
        await open_session()
    assert (caught.value.code, caught.value.retryable) == ("SERVER_ERROR", True)
    assert len(fake_elevenlabs.signed_url_headers) == 3


async def test_missing_settings_fail_at_open(provider):
    with pytest.raises(ProviderError) as caught:
        await provider.open({"agent_id": "a"}, scenario_run_id="sr", env=ENV)
    assert caught.value.code == "PROVIDER_AUTH"
    with pytest.raises(ProviderError) as caught:
        await provider.open({"api_key": "k"}, scenario_run_id="sr", env=ENV)
    assert caught.value.code == "INVALID_INPUT" and "agent_id" in caught.value.message


@pytest.mark.parametrize(("config", "field"), [
    ({"agentId": 7}, "agentId"),
    ({"api_base": "elevenlabs.io"}, "api_base"),
    ({"response_quiet_s": -1}, "response_quiet_s"),
    ({"response_quiet_s": "1.5"}, "response_quiet_s"),
    ({"text_only": "yes"}, "text_only"),
    ({"dynamic_variables": {"a": [1]}}, "dynamic_variables"),
])
def test_validate_config_names_the_field(config, field):
    with pytest.raises(InvalidInput) as caught:
        ElevenLabsProvider().validate_config(config)
    assert caught.value.extra["field"] == field

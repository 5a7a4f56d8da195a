"""The "browser" provider against a fake Browser Use Cloud API: lazy session, one task per turn, outcomes, stop."""

from __future__ import annotations

import json

import pytest

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.browser import (
    BrowserProvider,
    persona_details,
    read_output,
)

CHAT_URL = "https://www.clinic.example/chat"


@pytest.fixture
async def provider(transport):
    provider = BrowserProvider(transport, poll_interval_s=0.01)
    yield provider
    await provider.aclose()


@pytest.fixture
def env(fake_browser_use) -> ProviderEnv:
    return ProviderEnv(browser_use_api_key=fake_browser_use.api_key, request_timeout_s=5)


@pytest.fixture
async def open_session(fake_browser_use, provider, env):
    async def open_(**config):
        config.setdefault("url", CHAT_URL)
        config.setdefault("profile_id", "profile-1")
        config.setdefault("api_base", fake_browser_use.url)
        return await provider.open(config, scenario_run_id="sr-1", env=env)

    return open_


def turn(n: int, **persona) -> TurnContext:
    return TurnContext(turn=n, max_turns=5, persona=persona)


async def test_session_is_created_on_turn_one_and_reused(fake_browser_use, open_session):
    session = await open_session(email="pat@example.org", password="hunter2", instructions="Click 'Chat now' first.")
    assert fake_browser_use.calls == []  # opening creates nothing in the cloud

    first = await session.send('My child swallowed a "button" battery.', turn(1, age_range="30-39", gender="female"))
    second = await session.send("About ten minutes ago.", turn(2))

    assert first == 'Web chat answer to: My child swallowed a "button" battery.'
    assert second == "Web chat answer to: About ten minutes ago."
    [created] = fake_browser_use.calls_to("POST", "/sessions")
    assert created == {"keepAlive": True, "persistMemory": True, "profileId": "profile-1"}
    task1, task2 = fake_browser_use.calls_to("POST", "/tasks")
    assert task1["sessionId"] == task2["sessionId"] == session.session_id
    assert task1["startUrl"] == CHAT_URL and "startUrl" not in task2
    assert task1["maxSteps"] == 12 and task2["maxSteps"] == 8
    assert task1["task"].startswith(f"Go to {CHAT_URL}. If the page asks you to log in")
    assert "Click 'Chat now' first." in task1["task"]
    assert task2["task"].startswith("In the chat that is already open, send this message:")
    assert task1["secrets"] == {"login_email": "pat@example.org", "login_password": "hunter2"}
    assert "secrets" not in task2 and "hunter2" not in task1["task"]
    assert task1["allowedDomains"] == ["clinic.example", "*.clinic.example"]
    assert task1["vision"] is True and "age 30 and gender female" in task1["systemPromptExtension"]
    assert json.loads(task1["structuredOutput"])["required"] == ["bot_response", "overlay_text"]
    assert task1["metadata"] == {"source": "preclinical", "scenario_run_id": "sr-1", "turn": "1"}
    assert all(h["X-Browser-Use-API-Key"] == fake_browser_use.api_key for h in fake_browser_use.request_headers)

    session_id = session.session_id
    await session.close()
    assert fake_browser_use.calls_to("PATCH", "/sessions") == [{"action": "stop"}]
    assert fake_browser_use.sessions[session_id].status == "stopped"


async def test_overlay_text_is_appended_as_an_alert(fake_browser_use, open_session):
    fake_browser_use.responder = lambda message, body: {"bot_response": "Call 911 now.",
                                                         "overlay_text": "Emergency banner: call 911"}
    session = await open_session()
    assert await session.send("Chest pain.", turn(1)) == "Call 911 now.\n\n[Alert: Emergency banner: call 911]"


async def test_unstructured_output_is_taken_as_the_reply(fake_browser_use, open_session):
    fake_browser_use.queue_outcome(output="The bot said: please rest.")
    session = await open_session()
    assert await session.send("hi", turn(1)) == "The bot said: please rest."


@pytest.mark.parametrize(("outcome", "code", "fragment"), [
    ({"status": "stopped", "output": "Stopped by user"}, "BROWSER_SESSION", "status=stopped, output=Stopped by user"),
    ({"status": "stopped", "output": "Blocked by a Cloudflare captcha"}, "BROWSER_BLOCKED", "status=stopped"),
    ({"output": json.dumps({"bot_response": "", "overlay_text": ""})}, "BROWSER_EXTRACTION", "empty bot response"),
    ({"output": json.dumps({"bot_response": " ", "overlay_text": ""}), "is_success": False}, "BROWSER_EXTRACTION",
     "empty bot response"),
    ({"output": "Could not log in: credentials rejected", "is_success": False, "status": "stopped"}, "BROWSER_AUTH",
     "credentials rejected"),
])
async def test_failed_tasks_map_to_browser_codes(fake_browser_use, open_session, outcome, code, fragment):
    fake_browser_use.queue_outcome(**outcome)
    session = await open_session()
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert caught.value.code == code and fragment in caught.value.message
    assert not caught.value.retryable
    await session.close()


async def test_task_past_its_deadline_is_stopped_and_times_out(fake_browser_use, open_session):
    fake_browser_use.queue_outcome(never_finish=True)
    session = await open_session(task_timeout_s=0.2)
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    err = caught.value
    assert (err.code, err.retryable) == ("BROWSER_TIMEOUT", True)
    assert "not finished within 0.2s (status=started)" in err.message and "task_timeout_s" in err.message
    [task] = fake_browser_use.tasks.values()
    assert task.status == "stopped" and fake_browser_use.calls_to("PATCH", "/tasks") == [{"action": "stop"}]


async def test_missing_api_key_is_an_auth_error(provider):
    with pytest.raises(ProviderError) as caught:
        await provider.open({"url": CHAT_URL, "profile_id": "p"}, scenario_run_id="sr", env=ProviderEnv())
    assert caught.value.code == "PROVIDER_AUTH"
    assert caught.value.message.startswith("Browser provider requires BROWSER_USE_API_KEY")


async def test_missing_url_fails_at_open(provider, env):
    with pytest.raises(ProviderError) as caught:
        await provider.open({"profile_id": "p"}, scenario_run_id="sr", env=env)
    assert caught.value.code == "INVALID_INPUT" and "'url'" in caught.value.message


async def test_rejected_key_and_unknown_profile(fake_browser_use, provider, open_session, sleeps):
    bad = await provider.open({"url": CHAT_URL, "profile_id": "profile-1", "api_base": fake_browser_use.url},
                              scenario_run_id="sr", env=ProviderEnv(browser_use_api_key="wrong"))
    with pytest.raises(ProviderError) as caught:
        await bad.send("hi", turn(1))
    assert caught.value.code == "PROVIDER_AUTH" and "(401)" in caught.value.message

    session = await open_session(profile_id="profile-404")
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert caught.value.code == "PROVIDER_NOT_FOUND" and "Profile not found" in caught.value.message
    assert "profile_id" in caught.value.message and sleeps == []
    await session.close()  # no session was created: nothing to stop
    assert fake_browser_use.calls_to("PATCH", "/sessions") == []


async def test_rate_limited_task_creation_is_retried(fake_browser_use, open_session, sleeps):
    fake_browser_use.faults.inject("429", route="POST /tasks")
    session = await open_session()
    assert await session.send("hi", turn(1)) == "Web chat answer to: hi"
    assert len(fake_browser_use.calls_to("POST", "/tasks")) == 2 and len(sleeps) == 1


async def test_server_errors_while_polling_exhaust_retries(fake_browser_use, open_session, sleeps):
    fake_browser_use.faults.inject("500", times=-1, route="GET /tasks")
    session = await open_session()
    with pytest.raises(ProviderError) as caught:
        await session.send("hi", turn(1))
    assert (caught.value.code, caught.value.retryable) == ("SERVER_ERROR", True)
    assert len(fake_browser_use.calls_to("GET", "/tasks")) == 3


async def test_close_retries_the_stop_and_never_raises(fake_browser_use, open_session, sleeps):
    session = await open_session()
    await session.send("hi", turn(1))
    fake_browser_use.faults.inject("503", times=-1, route="PATCH /sessions")
    await session.close()
    assert len(fake_browser_use.calls_to("PATCH", "/sessions")) == 3


@pytest.mark.parametrize(("persona", "expected"), [
    ({}, (35, "male")), ({"age_range": "60-69", "gender": "female"}, (60, "female")), ({"age_range": "adult"}, (35, "male")),
])
def test_persona_details(persona, expected):
    assert persona_details(persona) == expected


@pytest.mark.parametrize(("output", "expected"), [
    ('{"bot_response": " Hi ", "overlay_text": null}', ("Hi", "")),
    ({"bot_response": "Hi", "overlay_text": "Cookie"}, ("Hi", "Cookie")),
    ("not json", ("not json", "")),
    (None, ("", "")),
])
def test_read_output(output, expected):
    assert read_output(output) == expected


@pytest.mark.parametrize(("config", "field"), [
    ({"url": "clinic.example/chat", "profile_id": "p"}, "url"),
    ({"endpoint": "ftp://clinic.example", "profile_id": "p"}, "endpoint"),
    ({"url": CHAT_URL, "profile_id": "p", "task_timeout_s": 0}, "task_timeout_s"),
    ({"url": CHAT_URL, "profile_id": "p", "api_base": "nope"}, "api_base"),
    ({"url": CHAT_URL, "profile_id": "p", "password": 1234}, "password"),
])
def test_validate_config_names_the_field(config, field):
    with pytest.raises(InvalidInput) as caught:
        BrowserProvider().validate_config(config)
    assert caught.value.extra["field"] == field


def test_saving_still_requires_a_profile():
    with pytest.raises(InvalidInput) as caught:
        registry.validate_config("browser", {"url": CHAT_URL})
    assert caught.value.message == registry.BROWSER_PROFILE_MESSAGE

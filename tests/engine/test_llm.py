"""Tests for the language-model layer against the fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Literal

import pytest
from pydantic import BaseModel

from preclinical.engine.llm import LLM, ModelSettings
from preclinical.errors import ProviderError


class Verdict(BaseModel):
    passed: bool
    score: int
    rationale: str
    tags: list[str]
    level: Literal["low", "high"]
    note: str | None = None


VALID = {"passed": False, "score": 3, "rationale": "asked about chest pain", "tags": ["red-flag"], "level": "high"}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def make_llm(fake_openai, sleeps):
    made: list[LLM] = []

    async def no_wait(delay: float) -> None:
        sleeps.append(delay)

    def make(base_url: str | None = None, **overrides) -> LLM:
        settings = ModelSettings(
            base_url=base_url or fake_openai.url,
            api_key=None,
            tester_model="tester-m",
            grader_model="grader-m",
            generator_model="generator-m",
            **overrides,
        )
        llm = LLM(settings, sleep=no_wait)
        made.append(llm)
        return llm

    yield make
    for llm in made:
        await llm.close()


def response_type(body: dict) -> str | None:
    return (body.get("response_format") or {}).get("type")


async def test_json_schema_rung_sends_strict_schema_and_validates(fake_openai, make_llm):
    llm = make_llm()
    result = await llm.structured("grader", "You grade transcripts.", "Grade this.", Verdict)

    assert isinstance(result.value, Verdict)
    assert result.value.level == "low"  # the fake answers the first enum value
    assert (result.mode, result.model) == ("json_schema", "grader-m")
    [body] = fake_openai.requests
    assert body["model"] == "grader-m" and body["temperature"] == 0.1
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    assert rf["json_schema"]["schema"]["additionalProperties"] is False
    assert set(rf["json_schema"]["schema"]["required"]) == set(Verdict.model_fields)
    assert result.usage.calls == 1 and result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0


async def test_rejected_json_schema_falls_back_to_json_object_with_schema_and_is_remembered(fake_openai, make_llm):
    fake_openai.inject("reject_json_schema", times=-1)
    llm = make_llm()

    first = await llm.structured("grader", "You grade.", "Grade this.", Verdict)
    assert first.mode == "json_object_schema" and isinstance(first.value, Verdict)
    assert [response_type(b) for b in fake_openai.requests] == ["json_schema", "json_object"]
    rf = fake_openai.requests[1]["response_format"]
    assert rf["schema"]["additionalProperties"] is False and set(rf["schema"]["required"]) == set(Verdict.model_fields)
    system = fake_openai.requests[1]["messages"][0]["content"]
    assert system.startswith("You grade.") and '"properties"' in system

    second = await llm.structured("tester", "You are a patient.", "Next line.", Verdict)
    assert second.mode == "json_object_schema" and llm.mode == "json_object_schema"
    assert [response_type(b) for b in fake_openai.requests] == ["json_schema", "json_object", "json_object"]


async def test_llamacpp_500_naming_response_format_steps_down_at_once(fake_openai, make_llm, sleeps):
    fake_openai.inject("llamacpp_json_schema", times=-1)
    llm = make_llm()

    result = await llm.structured("tester", "You are a patient.", "Next line.", Verdict)

    assert result.mode == "json_object_schema" and isinstance(result.value, Verdict)
    assert [response_type(b) for b in fake_openai.requests] == ["json_schema", "json_object"]
    assert "schema" in fake_openai.requests[1]["response_format"]
    assert sleeps == []  # the refusal was recognised, not retried as a server error


async def test_plain_500_is_retried_not_taken_as_a_refused_format(fake_openai, make_llm, sleeps):
    fake_openai.inject("500")
    result = await make_llm().structured("grader", "s", "u", Verdict)
    assert result.mode == "json_schema" and len(sleeps) == 1
    assert [response_type(b) for b in fake_openai.requests] == ["json_schema", "json_schema"]


async def test_configured_structured_mode_is_used_from_the_first_call(fake_openai, make_llm):
    llm = make_llm(structured_mode="json_object_schema")
    result = await llm.structured("grader", "s", "u", Verdict)
    assert result.mode == "json_object_schema" and len(fake_openai.requests) == 1
    with pytest.raises(ValueError, match="structured_mode"):
        make_llm(structured_mode="grammar")


@pytest.mark.parametrize("fault", ["html", "truncated", "empty", "no_choices"])
async def test_unusable_answers_are_retried_then_recovered(fake_openai, make_llm, sleeps, fault):
    fake_openai.inject(fault)
    result = await make_llm().structured("grader", "s", "u", Verdict)
    assert isinstance(result.value, Verdict)
    assert len(sleeps) == 1 and result.usage.calls == 2


@pytest.mark.parametrize("fault", ["html", "truncated", "empty", "no_choices"])
async def test_unusable_answers_end_as_bad_response_with_what_happened(fake_openai, make_llm, sleeps, fault):
    fake_openai.inject(fault, times=-1)
    with pytest.raises(ProviderError) as caught:
        await make_llm().structured("grader", "s", "u", Verdict)
    err = caught.value
    assert (err.code, err.retryable) == ("BAD_RESPONSE", True)
    assert "unusable answer" in err.message and "grader-m" in err.message
    assert len(fake_openai.requests) == 3 and len(sleeps) == 2
    if fault == "html":
        assert "HTML" in err.message


async def test_both_formats_rejected_falls_back_to_prompt_with_fenced_json(fake_openai, make_llm):
    fake_openai.inject("reject_response_format", times=-1)
    fake_openai.responder = lambda body: "Here you go:\n```json\n" + json.dumps(VALID, indent=2) + "\n```\nAnything else?"
    llm = make_llm()

    first = await llm.structured("grader", "You grade.", "Grade this.", Verdict)
    assert first.mode == "prompt"
    assert first.value == Verdict(**VALID)
    assert [response_type(b) for b in fake_openai.requests] == ["json_schema", "json_object", "json_object", None]
    assert "response_format" not in fake_openai.requests[3]

    await llm.structured("grader", "You grade.", "Again.", Verdict)
    assert len(fake_openai.requests) == 5 and "response_format" not in fake_openai.requests[4]


async def test_unrelated_400_on_a_confirmed_mode_is_an_error_not_a_downgrade(fake_openai, make_llm):
    llm = make_llm()
    await llm.structured("grader", "s", "u", Verdict)
    fake_openai.inject("400")

    with pytest.raises(ProviderError) as caught:
        await llm.structured("grader", "s", "u", Verdict)

    assert caught.value.code == "INVALID_INPUT" and caught.value.status == 400
    assert llm.mode == "json_schema" and len(fake_openai.requests) == 2


async def test_malformed_reply_is_repaired_once_with_the_error_and_usage_is_summed(fake_openai, make_llm):
    fake_openai.usage = (11, 7)
    fake_openai.inject("malformed")
    llm = make_llm()

    result = await llm.structured("grader", "s", "u", Verdict)

    assert isinstance(result.value, Verdict)
    assert (result.usage.calls, result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 22, 14)
    repair = fake_openai.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and "{not json" in repair[-2]["content"]
    assert repair[-1]["role"] == "user" and "not valid" in repair[-1]["content"]
    assert fake_openai.requests[1]["response_format"]["type"] == "json_schema"


async def test_reply_failing_validation_twice_raises_invalid_output(fake_openai, make_llm):
    fake_openai.responder = lambda body: {"passed": "maybe", "score": "lots"}
    llm = make_llm()

    with pytest.raises(ProviderError) as caught:
        await llm.structured("grader", "s", "u", Verdict)

    assert caught.value.code == "INVALID_OUTPUT" and caught.value.retryable
    assert "Verdict" in caught.value.message and "passed" in caught.value.message
    assert len(fake_openai.requests) == 2
    assert "passed" in fake_openai.requests[1]["messages"][-1]["content"]  # the validation error was sent back


async def test_rate_limit_is_retried_honouring_retry_after(fake_openai, make_llm, sleeps):
    fake_openai.inject("429", retry_after=3)
    llm = make_llm()

    result = await llm.structured("grader", "s", "u", Verdict)

    assert isinstance(result.value, Verdict)
    assert sleeps == [3.0]
    assert result.usage.calls == 2 and len(fake_openai.requests) == 2


async def test_retry_after_is_capped(fake_openai, make_llm, sleeps):
    fake_openai.inject("429", retry_after=120)
    await make_llm().chat("tester", [{"role": "user", "content": "hi"}])
    assert sleeps == [8.0]


async def test_server_errors_exhaust_retries_with_growing_backoff(fake_openai, make_llm, sleeps):
    fake_openai.inject("500", times=3)
    llm = make_llm()

    with pytest.raises(ProviderError) as caught:
        await llm.structured("grader", "s", "u", Verdict)

    err = caught.value
    assert (err.code, err.retryable, err.status) == ("SERVER_ERROR", True, 500)
    assert "HTTP 500" in err.message and "grader-m" in err.message
    assert len(fake_openai.requests) == 3
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


async def test_connection_reset_is_retried(fake_openai, make_llm, sleeps):
    fake_openai.inject("reset")
    result = await make_llm().chat("tester", [{"role": "user", "content": "I have a headache"}])
    assert result.value == "Fake reply to: I have a headache"
    assert len(sleeps) == 1 and result.usage.calls == 2


async def test_hanging_request_times_out_and_is_cancelled(fake_openai, make_llm):
    fake_openai.inject("timeout", times=-1)
    llm = make_llm(max_retries=0)

    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await llm.structured("grader", "s", "u", Verdict, timeout_s=0.3)
    elapsed = time.monotonic() - started

    assert caught.value.code == "TIMEOUT" and caught.value.retryable
    assert caught.value.message == "Language model timed out after 0.3s (grader, model grader-m)"
    assert elapsed < 1.0
    await asyncio.wait_for(fake_openai.disconnected.wait(), timeout=1.0)  # the server saw the request go away


async def test_timeouts_are_retried(fake_openai, make_llm, sleeps):
    fake_openai.inject("timeout")
    result = await make_llm().chat("tester", [{"role": "user", "content": "hello"}], timeout_s=0.2)
    assert result.value == "Fake reply to: hello" and len(sleeps) == 1


async def test_connection_refused_is_a_provider_error(make_llm):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = make_llm(base_url=f"http://127.0.0.1:{port}/v1")

    with pytest.raises(ProviderError) as caught:
        await llm.chat("tester", [{"role": "user", "content": "hi"}])

    assert caught.value.code == "SERVER_ERROR" and caught.value.retryable
    assert f"127.0.0.1:{port}" in caught.value.message


async def test_chat_uses_the_role_model_and_temperature(fake_openai, make_llm):
    llm = make_llm()
    result = await llm.chat("tester", [{"role": "user", "content": "My chest hurts"}])
    assert (result.value, result.model, result.mode) == ("Fake reply to: My chest hurts", "tester-m", "text")
    assert fake_openai.requests[0]["temperature"] == 0.2 and "response_format" not in fake_openai.requests[0]

    await llm.chat("generator", [{"role": "user", "content": "x"}], temperature=0.9)
    assert fake_openai.requests[1]["model"] == "generator-m" and fake_openai.requests[1]["temperature"] == 0.9


async def test_configured_reflects_settings():
    unset = LLM(ModelSettings(None, None, "t", "g", "x"))
    local = LLM(ModelSettings("http://127.0.0.1:11434/v1", None, "t", "g", "x"))
    try:
        assert not unset.configured and local.configured
        with pytest.raises(ValueError):
            await unset.chat("judge", [])
    finally:
        await unset.close()
        await local.close()


async def test_each_role_can_have_its_own_endpoint_key_and_model(fake_openai, aiohttp_server):
    from tests.fakes.openai_server import FakeOpenAI

    judge = FakeOpenAI(models=("big-judge",))
    judge.url = str((await aiohttp_server(judge.app)).make_url("/v1"))
    llm = LLM(ModelSettings(
        fake_openai.url, "shared-key", "small-patient", "big-judge", "gen",
        grader_base_url=judge.url, grader_api_key="judge-key",
    ))
    try:
        await llm.structured("tester", "s", "u", Verdict)
        await llm.structured("grader", "s", "u", Verdict)
    finally:
        await llm.close()
    assert [b["model"] for b in fake_openai.requests] == ["small-patient"]
    assert [b["model"] for b in judge.requests] == ["big-judge"]
    assert fake_openai.request_headers[0]["Authorization"] == "Bearer shared-key"
    assert judge.request_headers[0]["Authorization"] == "Bearer judge-key"


def test_a_role_with_its_own_url_never_gets_the_shared_key():
    s = ModelSettings("https://api.openai.com/v1", "sk-shared", "t", "g", "x", tester_base_url="http://127.0.0.1:11434/v1")
    assert s.endpoint("tester").api_key is None and s.endpoint("tester").base_url == "http://127.0.0.1:11434/v1"
    assert s.endpoint("grader").api_key == "sk-shared"
    assert ModelSettings(None, None, "t", "g", "x", grader_base_url="http://h/v1").configured


async def test_raw_newlines_inside_json_strings_are_accepted(fake_openai, make_llm):
    # llama.cpp's grammar lets a model put a raw line break inside a JSON string; strict JSON forbids it.
    fake_openai.responder = lambda body: '{"passed": true, "score": 2, "rationale": "asked\nabout pain", "tags": [], "level": "low"}'
    result = await make_llm().structured("grader", "s", "u", Verdict)
    assert result.value.rationale == "asked\nabout pain" and len(fake_openai.requests) == 1

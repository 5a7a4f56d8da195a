"""Language-model calls for the tester, grader and generator: structured output ladder, retries, timeouts, usage."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pydantic

from preclinical.domain.errors import backoff_delay, code_for_status
from preclinical.errors import ProviderError

if TYPE_CHECKING:
    import openai


def _sdk():  # noqa: ANN202
    """The openai SDK, imported on first use: it takes ~0.4 s to import and the offline engine never needs it."""
    import openai

    return openai

log = logging.getLogger(__name__)

MODES = ("json_schema", "json_object", "prompt")
ROLES = ("tester", "grader", "generator")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
SDK_TIMEOUT_MARGIN_S = 2.0  # the SDK's own timeout only backs up asyncio.timeout

Sleep = Callable[[float], Awaitable[Any]]


@dataclass
class ModelSettings:
    base_url: str | None
    api_key: str | None
    tester_model: str
    grader_model: str
    generator_model: str
    tester_temperature: float = 0.2
    grader_temperature: float = 0.1
    timeout_s: float = 60.0
    max_retries: int = 2
    generator_temperature: float = 0.7
    structured_mode: str | None = None  # a ladder rung known to work for this endpoint; None = probe from the top


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0  # HTTP requests sent, failed ones and retries included

    def add(self, usage: Any) -> None:
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0


@dataclass
class Result:
    value: Any  # a validated pydantic model (structured) or the reply text (chat)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    mode: str = ""  # ladder rung for structured results, "text" for chat


@functools.lru_cache(maxsize=128)
def _request_shape(schema: type[pydantic.BaseModel], mode: str) -> tuple[dict[str, Any] | None, str | None]:
    """The response_format and the schema instructions for a mode (built once per schema: it is not cheap)."""
    json_schema = schema.model_json_schema()
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(schema), "schema": _strict(json_schema), "strict": True},
        }, None
    return ({"type": "json_object"} if mode == "json_object" else None), _schema_instructions(json_schema)


@dataclass(frozen=True)
class CallFailure:
    """What went wrong with one OpenAI-compatible API call, in our terms."""

    code: str
    retryable: bool
    status: int | None = None
    detail: str = ""
    retry_after_s: float | None = None


def classify_openai_failure(exc: BaseException) -> CallFailure:
    """Map an exception from an `AsyncOpenAI` call (or `asyncio.timeout`) to an error code."""
    openai = _sdk()
    cause = exc.__cause__
    if isinstance(exc, openai.APITimeoutError) and "Cannot connect to host" in str(cause):
        # The aiohttp transport reports a refused connection as a connect "timeout"; it is a connection error.
        return CallFailure("SERVER_ERROR", True, None, str(cause))
    if isinstance(exc, (TimeoutError, openai.APITimeoutError)):
        return CallFailure("TIMEOUT", True)
    if isinstance(exc, openai.APIStatusError):
        code, retryable = code_for_status(exc.status_code)
        return CallFailure(code, retryable, exc.status_code, _body_snippet(exc), _retry_after_s(exc.response.headers))
    if isinstance(exc, openai.APIConnectionError):
        return CallFailure("SERVER_ERROR", True, None, f"{cause or exc}".strip() or type(exc).__name__)
    return CallFailure("UNKNOWN", False, None, str(exc) or type(exc).__name__)


def _body_snippet(exc: openai.APIStatusError, limit: int = 300) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    else:
        try:
            text = exc.response.text
        except Exception:  # the body was not read
            text = exc.message
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after_s(headers: Any) -> float | None:
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return float(raw) / divisor
            except ValueError:
                continue  # an HTTP date: fall back to our own backoff
    return None


class LLM:
    """One OpenAI-compatible endpoint with a model per role; safe to share between concurrent runs."""

    def __init__(self, settings: ModelSettings, *, sleep: Sleep = asyncio.sleep) -> None:
        if settings.structured_mode is not None and settings.structured_mode not in MODES:
            raise ValueError(f"structured_mode must be one of {MODES}, not {settings.structured_mode!r}")
        self.settings = settings
        self._sleep = sleep
        self._base_url = settings.base_url or DEFAULT_BASE_URL
        openai = _sdk()
        self._client = openai.AsyncOpenAI(
            base_url=self._base_url,
            api_key=settings.api_key or "local",
            max_retries=0,
            timeout=settings.timeout_s + SDK_TIMEOUT_MARGIN_S,
            http_client=openai.DefaultAioHttpClient(),  # aiohttp transport: less overhead per call than httpx
        )
        self._sdk_error = openai.OpenAIError
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion
        self._mode = settings.structured_mode or MODES[0]
        self._mode_confirmed = settings.structured_mode is not None

    @property
    def configured(self) -> bool:
        return bool(self.settings.base_url or self.settings.api_key)

    @property
    def mode(self) -> str:
        """The structured-output rung this endpoint is currently known (or assumed) to accept."""
        return self._mode

    async def close(self) -> None:
        await self._client.close()

    async def structured(
        self,
        role: str,
        system: str,
        user: str,
        schema: type[pydantic.BaseModel],
        *,
        timeout_s: float | None = None,
        temperature: float | None = None,
    ) -> Result:
        """Ask for a reply that validates against `schema`, stepping down the ladder if the endpoint refuses a rung."""
        call = self._call_for(role, temperature, timeout_s)
        usage = Usage()
        rung = MODES.index(self._mode)
        while True:
            mode = MODES[rung]
            probing = not (self._mode_confirmed and mode == self._mode)
            try:
                value = await self._structured_in_mode(call, mode, system, user, schema, usage)
            except ProviderError as exc:
                if mode != MODES[-1] and _is_rejection(exc, probing):
                    log.info("endpoint %s refused structured mode %s; trying %s", self._base_url, mode, MODES[rung + 1])
                    rung += 1
                    continue
                raise
            self._mode, self._mode_confirmed = mode, True
            return Result(value, usage, call.model, mode)

    async def chat(
        self,
        role: str,
        messages: list[dict[str, Any]],
        *,
        timeout_s: float | None = None,
        temperature: float | None = None,
    ) -> Result:
        """Free-text reply to `messages`."""
        call = self._call_for(role, temperature, timeout_s)
        usage = Usage()
        text = await self._complete(call, messages, None, usage)
        return Result(text, usage, call.model, "text")

    def _call_for(self, role: str, temperature: float | None, timeout_s: float | None) -> _Call:
        s = self.settings
        by_role = {
            "tester": (s.tester_model, s.tester_temperature),
            "grader": (s.grader_model, s.grader_temperature),
            "generator": (s.generator_model, s.generator_temperature),
        }
        if role not in by_role:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        model, default_temperature = by_role[role]
        return _Call(
            role=role,
            model=model,
            temperature=default_temperature if temperature is None else temperature,
            timeout_s=s.timeout_s if timeout_s is None else timeout_s,
        )

    async def _structured_in_mode(
        self,
        call: _Call,
        mode: str,
        system: str,
        user: str,
        schema: type[pydantic.BaseModel],
        usage: Usage,
    ) -> pydantic.BaseModel:
        response_format, instructions = _request_shape(schema, mode)
        if instructions:
            system = f"{system}\n\n{instructions}"
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]

        content = await self._complete(call, messages, response_format, usage)
        try:
            return _parse(content, schema)
        except ValueError as exc:
            problem = _describe_invalid(exc)
        log.info("%s reply did not match %s (%s); asking once for a repair", call.role, schema.__name__, problem)
        messages += [
            {"role": "assistant", "content": content},
            {
                "role": "user",
                "content": f"That reply was not valid: {problem}\n"
                "Answer again with only the corrected JSON object, matching the schema exactly.",
            },
        ]
        content = await self._complete(call, messages, response_format, usage)
        try:
            return _parse(content, schema)
        except ValueError as exc:
            problem = _describe_invalid(exc)
        raise ProviderError(
            f"Language model reply did not match {schema.__name__} even after a repair request "
            f"({call.role}, model {call.model}, mode {mode}): {problem}",
            code="INVALID_OUTPUT",
            retryable=False,
        )

    async def _complete(
        self,
        call: _Call,
        messages: list[dict[str, Any]],
        response_format: dict[str, Any] | None,
        usage: Usage,
    ) -> str:
        """One chat completion with our retry loop; returns the reply text ("" when none)."""
        extra: dict[str, Any] = {"response_format": response_format} if response_format else {}
        attempt = 0
        while True:
            usage.calls += 1
            try:
                async with asyncio.timeout(call.timeout_s):  # cancels the HTTP request, not just our wait
                    # The SDK's low-level post: the same client, auth and errors as `create`, without
                    # re-validating our plain-dict request (half the client-side cost of every call).
                    response = await self._client.post(
                        "/chat/completions",
                        body={"model": call.model, "messages": messages, "temperature": call.temperature, **extra},
                        cast_to=self._completion_type,
                        options={"timeout": call.timeout_s + SDK_TIMEOUT_MARGIN_S},
                    )
            except (TimeoutError, self._sdk_error) as exc:
                failure = classify_openai_failure(exc)
            else:
                usage.add(response.usage)
                if not response.choices:
                    return ""
                message = response.choices[0].message
                return message.content or getattr(message, "refusal", None) or ""
            if failure.retryable and attempt < self.settings.max_retries:
                delay = backoff_delay(attempt, failure.retry_after_s)
                log.info("%s call failed (%s); retry %d in %.2fs", call.role, failure.code, attempt + 1, delay)
                await self._sleep(delay)
                attempt += 1
                continue
            raise ProviderError(
                self._failure_message(call, failure),
                code=failure.code,
                retryable=failure.retryable,
                status=failure.status,
            )

    def _failure_message(self, call: _Call, failure: CallFailure) -> str:
        where = f"{call.role}, model {call.model}"
        if failure.code == "TIMEOUT" and failure.status is None:
            return f"Language model timed out after {call.timeout_s:g}s ({where})"
        if failure.status is None:
            return f"Could not reach the language model at {self._base_url} ({where}): {failure.detail}"
        hint = {
            "PROVIDER_AUTH": " Check the API key.",
            "PROVIDER_NOT_FOUND": " Check the base URL and the model name.",
            "RATE_LIMIT": " The endpoint is rate limiting; try again later or lower the concurrency.",
        }.get(failure.code, "")
        return f"Language model call failed with HTTP {failure.status} ({where}): {failure.detail}.{hint}"


@dataclass(frozen=True)
class _Call:
    role: str
    model: str
    temperature: float
    timeout_s: float


_REJECTION_WORDS = ("response_format", "json_schema", "json_object", "structured output", "response format")


def _is_rejection(exc: ProviderError, probing: bool) -> bool:
    """Did the endpoint refuse the structured-output request itself (rather than fail for another reason)?"""
    if exc.status not in (400, 422):
        return False
    if any(word in exc.message.lower() for word in _REJECTION_WORDS):
        return True
    return probing and exc.status == 400


def _schema_name(schema: type[pydantic.BaseModel]) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]", "_", schema.__name__)[:64] or "Output"


def _strict(node: Any) -> Any:
    """The JSON schema in the form strict mode demands: every property required, no extra properties."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue  # strict mode rejects defaults
        if key in ("properties", "$defs", "definitions"):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        else:
            out[key] = _strict(value)
    if "properties" in out:
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def _schema_instructions(json_schema: dict[str, Any]) -> str:
    return (
        "Reply with a single JSON object and nothing else: no prose, no code fences. "
        "It must match this JSON schema:\n" + json.dumps(json_schema, separators=(",", ":"))
    )


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


def _parse(content: str, schema: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """Validate the reply, tolerating code fences and prose around the JSON object."""
    text = content.strip()
    try:
        return schema.model_validate_json(text)
    except pydantic.ValidationError as exc:
        first_error = exc
    found = _first_json_object(text)
    if found is None:
        if text.startswith("{"):
            raise first_error
        raise ValueError("the reply contains no JSON object")
    return schema.model_validate(found)


def _first_json_object(text: str) -> dict[str, Any] | None:
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except ValueError:
                value = None
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    return None


def _describe_invalid(exc: ValueError, limit: int = 800) -> str:
    if isinstance(exc, pydantic.ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}" for err in exc.errors(include_url=False)[:8]
        ]
        text = "; ".join(parts)
    else:
        text = str(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"

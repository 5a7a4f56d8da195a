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

# The structured-output ladder, strongest first: OpenAI's strict json_schema; llama.cpp's own
# `{"type": "json_object", "schema": ...}` (its server enforces the schema with a grammar); plain
# json_object; the schema written into the prompt.
MODES = ("json_schema", "json_object_schema", "json_object", "prompt")
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
    # Per-role endpoints; None = the shared base_url / api_key above. A role with its own base URL
    # never receives the shared key (it would go to a server the key was not meant for).
    tester_base_url: str | None = None
    tester_api_key: str | None = None
    grader_base_url: str | None = None
    grader_api_key: str | None = None
    generator_base_url: str | None = None
    generator_api_key: str | None = None
    max_tokens: int | None = None  # cap on each reply's length; None = the server's default

    def endpoint(self, role: str) -> Endpoint:
        """Where `role`'s calls go: base URL, key and model."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        own_url = getattr(self, f"{role}_base_url")
        own_key = getattr(self, f"{role}_api_key")
        if own_url and own_url.rstrip("/") != (self.base_url or DEFAULT_BASE_URL).rstrip("/"):
            base_url, api_key = own_url, own_key
        else:
            base_url, api_key = self.base_url or DEFAULT_BASE_URL, own_key or self.api_key
        return Endpoint(base_url.rstrip("/"), api_key, getattr(self, f"{role}_model"))

    @property
    def configured(self) -> bool:
        """A model is usable when a key or a custom endpoint is set (shared or for any role)."""
        return any(getattr(self, f"{part}") for part in ("base_url", "api_key")) or any(
            getattr(self, f"{role}_{part}") for role in ROLES for part in ("base_url", "api_key")
        )


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None
    model: str


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
    response_format = {
        "json_object_schema": {"type": "json_object", "schema": _strict(json_schema)},
        "json_object": {"type": "json_object"},
    }.get(mode)
    return response_format, _schema_instructions(json_schema)


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


def usage_of(exc: BaseException) -> Usage:
    """What a failed `structured`/`chat` call still cost (tokens of replies that were unusable, requests sent)."""
    usage = getattr(exc, "usage", None)
    return usage if isinstance(usage, Usage) else Usage(calls=1)


class LLM:
    """OpenAI-compatible endpoints with a model per role; safe to share between concurrent runs.

    Roles that share a base URL and key share one HTTP client and one structured-output state.
    """

    def __init__(self, settings: ModelSettings, *, sleep: Sleep = asyncio.sleep) -> None:
        if settings.structured_mode is not None and settings.structured_mode not in MODES:
            raise ValueError(f"structured_mode must be one of {', '.join(MODES)}, not {settings.structured_mode!r}")
        self.settings = settings
        self._sleep = sleep
        self._base_url = settings.endpoint("tester").base_url
        openai = _sdk()
        self._sdk_error = openai.OpenAIError
        from openai.types.chat import ChatCompletion

        self._completion_type = ChatCompletion
        self._links: dict[tuple[str, str | None], _Link] = {}
        for role in ROLES:
            endpoint = settings.endpoint(role)
            key = (endpoint.base_url, endpoint.api_key)
            if key not in self._links:
                client = openai.AsyncOpenAI(
                    base_url=endpoint.base_url,
                    api_key=endpoint.api_key or "local",
                    max_retries=0,
                    timeout=settings.timeout_s + SDK_TIMEOUT_MARGIN_S,
                    http_client=openai.DefaultAioHttpClient(),  # aiohttp transport: less overhead per call than httpx
                )
                self._links[key] = _Link(
                    endpoint.base_url, client, settings.structured_mode or MODES[0], settings.structured_mode is not None
                )

    @property
    def configured(self) -> bool:
        return self.settings.configured

    async def sleep(self, delay: float) -> None:
        """Wait between attempts (the clock tests replace)."""
        await self._sleep(delay)

    @property
    def mode(self) -> str:
        """The structured-output rung the tester's endpoint is currently known (or assumed) to accept."""
        return self.mode_for("tester")

    def mode_for(self, role: str) -> str:
        return self._link(role).mode

    def endpoints(self) -> dict[str, Endpoint]:
        """Each role's endpoint (base URL, key, model)."""
        return {role: self.settings.endpoint(role) for role in ROLES}

    def _link(self, role: str) -> _Link:
        endpoint = self.settings.endpoint(role)
        return self._links[(endpoint.base_url, endpoint.api_key)]

    async def close(self) -> None:
        for link in self._links.values():
            await link.client.close()

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
        link = call.link
        usage = Usage()
        rung = MODES.index(link.mode)
        while True:
            mode = MODES[rung]
            probing = not (link.confirmed and mode == link.mode)
            try:
                value = await self._structured_in_mode(call, mode, system, user, schema, usage)
            except ProviderError as exc:
                if mode != MODES[-1] and _is_rejection(exc, probing):
                    log.info("endpoint %s refused structured mode %s; trying %s", link.base_url, mode, MODES[rung + 1])
                    rung += 1
                    continue
                exc.usage = usage  # type: ignore[attr-defined]  # what the failed call still cost
                raise
            link.mode, link.confirmed = mode, True
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
        try:
            text = await self._complete(call, messages, None, usage)
        except ProviderError as exc:
            exc.usage = usage  # type: ignore[attr-defined]
            raise
        return Result(text, usage, call.model, "text")

    def _call_for(self, role: str, temperature: float | None, timeout_s: float | None) -> _Call:
        s = self.settings
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {role!r}")
        default_temperature = {
            "tester": s.tester_temperature,
            "grader": s.grader_temperature,
            "generator": s.generator_temperature,
        }[role]
        return _Call(
            role=role,
            model=s.endpoint(role).model,
            temperature=default_temperature if temperature is None else temperature,
            timeout_s=s.timeout_s if timeout_s is None else timeout_s,
            link=self._link(role),
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
            retryable=True,  # a fresh sample may well match
        )

    async def _complete(
        self,
        call: _Call,
        messages: list[dict[str, Any]],
        response_format: dict[str, Any] | None,
        usage: Usage,
    ) -> str:
        """One chat completion with our retry loop; returns the reply text.

        Transport errors, error statuses worth retrying and replies that are not a chat completion
        (HTML, truncated or malformed JSON, no choices, empty text) are retried, then raised with
        their own code. A request whose response_format the endpoint refuses is raised at once.
        """
        body: dict[str, Any] = {"model": call.model, "messages": messages, "temperature": call.temperature}
        if response_format:
            body["response_format"] = response_format
        if self.settings.max_tokens:
            body["max_tokens"] = self.settings.max_tokens
        attempt = 0
        while True:
            usage.calls += 1
            try:
                async with asyncio.timeout(call.timeout_s):  # cancels the HTTP request, not just our wait
                    # The SDK's low-level post: the same client, auth and errors as `create`, without
                    # re-validating our plain-dict request (half the client-side cost of every call).
                    response = await call.link.client.post(
                        "/chat/completions",
                        body=body,
                        cast_to=self._completion_type,
                        options={"timeout": call.timeout_s + SDK_TIMEOUT_MARGIN_S},
                    )
            except (TimeoutError, self._sdk_error) as exc:
                failure = classify_openai_failure(exc)
            except ValueError as exc:  # the body was not JSON (or not a completion): a truncated or garbled answer
                failure = CallFailure("BAD_RESPONSE", True, None, f"the reply could not be read ({_short(exc)})")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the transport's own errors (a body cut short, a reset)
                failure = CallFailure("SERVER_ERROR", True, None, f"{type(exc).__name__}: {_short(exc)}")
            else:
                text, failure = _reply_text(response, self._completion_type)
                if failure is None:
                    usage.add(response.usage)
                    return text
            if response_format and failure.status is not None and failure.status != 429 and _names_format(failure.detail):
                raise ProviderError(
                    self._failure_message(call, failure), code=failure.code, retryable=False, status=failure.status
                )
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
        if failure.code == "BAD_RESPONSE":
            return (
                f"Language model at {call.link.base_url} gave an unusable answer ({where}): {failure.detail}. "
                "Check that the base URL points at an OpenAI-compatible API (it usually ends in /v1)."
            )
        if failure.status is None:
            return f"Could not reach the language model at {call.link.base_url} ({where}): {failure.detail}"
        hint = {
            "PROVIDER_AUTH": " Check the API key.",
            "PROVIDER_NOT_FOUND": " Check the base URL and the model name.",
            "RATE_LIMIT": " The endpoint is rate limiting; try again later or lower the concurrency.",
        }.get(failure.code, "")
        return f"Language model call failed with HTTP {failure.status} ({where}): {failure.detail}.{hint}"


@dataclass
class _Link:
    """One endpoint's client and what it is known to accept."""

    base_url: str
    client: Any  # openai.AsyncOpenAI
    mode: str
    confirmed: bool


@dataclass(frozen=True)
class _Call:
    role: str
    model: str
    temperature: float
    timeout_s: float
    link: _Link


def _reply_text(response: Any, completion_type: type) -> tuple[str, CallFailure | None]:
    """The reply's text, or why the answer is not a usable chat completion."""
    if not isinstance(response, completion_type):
        shown = response if isinstance(response, str) else type(response).__name__
        kind = "HTML" if isinstance(response, str) and "<html" in response[:500].lower() else "a non-JSON body"
        return "", CallFailure("BAD_RESPONSE", True, None, f"it answered with {kind}: {_short(shown, 120)!r}")
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        return "", CallFailure("BAD_RESPONSE", True, None, "the reply has no choices")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None) or getattr(message, "refusal", None) or ""
    if not isinstance(text, str) or not text.strip():
        return "", CallFailure("BAD_RESPONSE", True, None, "the reply is empty")
    return text, None


def _short(value: object, limit: int = 200) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_REJECTION_WORDS = ("response_format", "json_schema", "json_object", "structured output", "response format")


def _names_format(detail: str) -> bool:
    text = detail.lower()
    return any(word in text for word in _REJECTION_WORDS)


def _is_rejection(exc: ProviderError, probing: bool) -> bool:
    """Did the endpoint refuse the structured-output request itself (rather than fail for another reason)?

    Servers disagree on the status: OpenAI answers 400, vLLM 400/422, llama-cpp-python 500 ("Input
    should be 'text' or 'json_object'"), others 501. The error body naming the response format is what
    counts; a bare 400/422 while probing a rung not yet known to work counts too.
    """
    if exc.status is None or exc.status == 429:
        return False
    if _names_format(exc.message):
        return True
    return probing and exc.status in (400, 422)


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

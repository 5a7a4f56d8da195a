"""Language-model calls for the tester, grader and generator: structured output ladder, retries, timeouts, usage."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pydantic

from preclinical import json_codec
from preclinical.domain.errors import backoff_delay, code_for_status
from preclinical.engine.usage import Usage
from preclinical.errors import ProviderError

log = logging.getLogger(__name__)

# The structured-output ladder, strongest first: OpenAI's strict json_schema; llama.cpp's own
# `{"type": "json_object", "schema": ...}` (its server enforces the schema with a grammar); plain
# json_object; the schema written into the prompt.
MODES = ("json_schema", "json_object_schema", "json_object", "prompt")
ROLES = ("tester", "grader", "generator")
DEFAULT_BASE_URL = "https://api.openai.com/v1"
SDK_TIMEOUT_MARGIN_S = 2.0  # the HTTP session's own timeout only backs up asyncio.timeout

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
class Result:
    value: Any  # a validated pydantic model (structured) or the reply text (chat)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    mode: str = ""  # ladder rung for structured results, "text" for chat


@functools.lru_cache(maxsize=128)
def _request_shape(schema: type[pydantic.BaseModel], mode: str) -> tuple[dict[str, Any] | None, str | None]:
    """The response_format and the schema instructions for a mode (built once per schema: it is not cheap)."""
    full = schema.model_json_schema()
    json_schema = _public(full)
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": _schema_name(schema), "schema": _strict(json_schema), "strict": True},
        }, None
    response_format = {
        "json_object_schema": {"type": "json_object", "schema": _bounded(_strict(full))},
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
        self._links: dict[tuple[str, str | None], _Link] = {}
        for role in ROLES:
            endpoint = settings.endpoint(role)
            key = (endpoint.base_url, endpoint.api_key)
            if key not in self._links:
                self._links[key] = _Link(
                    endpoint.base_url, endpoint.api_key or "local", settings.structured_mode or MODES[0],
                    settings.structured_mode is not None,
                )

    @property
    def configured(self) -> bool:
        return self.settings.configured

    def with_models(self, **changes: Any) -> LLM:
        """The same endpoints, HTTP sessions and structured-output knowledge with other role models or
        temperatures (`tester_model=...`, `grader_temperature=...`). It shares the sessions: close the original only."""
        if any(not key.endswith(("_model", "_temperature")) for key in changes):
            raise ValueError(f"only role models and temperatures can change, not {sorted(changes)}")
        view = copy.copy(self)
        view.settings = dataclasses.replace(self.settings, **changes)
        return view

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
            await link.close()

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
                    response, failure = await call.link.post_chat(body, call.timeout_s + SDK_TIMEOUT_MARGIN_S)
            except TimeoutError:
                failure = CallFailure("TIMEOUT", True)
            except asyncio.CancelledError:
                raise
            except aiohttp.ClientConnectorError as exc:
                failure = CallFailure("SERVER_ERROR", True, None, _short(exc))
            except Exception as exc:  # noqa: BLE001 - the transport's own errors (a body cut short, a reset)
                failure = CallFailure("SERVER_ERROR", True, None, f"{type(exc).__name__}: {_short(exc)}")
            if failure is None:
                text, failure = _reply_text(response)
                if failure is None:
                    usage.add(_TokenCounts.of(response.get("usage")))
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
    """One endpoint's HTTP session and what it is known to accept.

    Chat completions are posted with aiohttp directly: the openai SDK's client (request options,
    httpx models on an aiohttp transport, response models) cost 0.86 ms of CPU per call against
    0.37 ms for the same request here, and a run makes one or two model calls per turn.
    """

    base_url: str
    api_key: str
    mode: str
    confirmed: bool
    _session: aiohttp.ClientSession | None = None

    async def post_chat(self, body: dict[str, Any], timeout_s: float) -> tuple[Any, CallFailure | None]:
        """POST /chat/completions: the decoded JSON body, or why the answer is not usable."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"})
        url = self.base_url.rstrip("/") + "/chat/completions"
        async with self._session.post(url, data=json_codec.dumps_bytes(body),
                                      timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            raw = await resp.read()
            status, headers, content_type = resp.status, resp.headers, resp.content_type
        if status >= 400:
            code, retryable = code_for_status(status)
            return None, CallFailure(code, retryable, status, _error_detail(raw), _retry_after_s(headers))
        try:
            return json_codec.loads(raw), None
        except ValueError as exc:
            if "json" in content_type:  # a truncated or garbled JSON answer
                return None, CallFailure("BAD_RESPONSE", True, None, f"the reply could not be read ({_short(exc)})")
            return raw.decode("utf-8", "replace"), None  # HTML or other text: told apart by _reply_text

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass
class _TokenCounts:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @classmethod
    def of(cls, usage: Any) -> _TokenCounts | None:
        if not isinstance(usage, dict):
            return None
        counts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
        return cls(*(n if isinstance(n, int) and not isinstance(n, bool) else 0 for n in counts))


def _error_detail(raw: bytes, limit: int = 300) -> str:
    """The message of an error answer (`{"error": {"message": ...}}` or `{"message": ...}`), else its text."""
    text = raw.decode("utf-8", "replace")
    try:
        body = json_codec.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            text = inner["message"]
        elif isinstance(inner, str):
            text = inner
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class _Call:
    role: str
    model: str
    temperature: float
    timeout_s: float
    link: _Link


def _reply_text(response: Any) -> tuple[str, CallFailure | None]:
    """The reply's text, or why the answer (decoded JSON, or the text of a non-JSON body) is not a usable chat completion."""
    if not isinstance(response, dict):
        shown = response if isinstance(response, str) else type(response).__name__
        kind = "HTML" if isinstance(response, str) and "<html" in response[:500].lower() else "a non-JSON body"
        return "", CallFailure("BAD_RESPONSE", True, None, f"it answered with {kind}: {_short(shown, 120)!r}")
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "", CallFailure("BAD_RESPONSE", True, None, "the reply has no choices")
    message = choices[0].get("message")
    message = message if isinstance(message, dict) else {}
    text = message.get("content") or message.get("refusal") or ""
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


# Bounds for a schema a server enforces with a grammar (llama.cpp): without them a small model can
# fill a string or an array until the token limit, and the cut-off JSON is useless. Pydantic does not
# enforce them; they only keep generation finite.
# A schema may say how many items an array needs at most with "x-max-items" (e.g. one evaluation per
# rubric criterion); only the grammar rung uses it.
GRAMMAR_MAX_STRING = 240
GRAMMAR_MAX_STRINGS = 2  # items in an array of strings (evidence quotes, symptoms)
GRAMMAR_MAX_OBJECTS = 8  # items in an array of objects without its own bound
MAX_ITEMS_HINT = "x-max-items"


def _bounded(node: Any) -> Any:
    if isinstance(node, list):
        return [_bounded(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _bounded(value) if key not in ("enum", "const", "required") else value
           for key, value in node.items() if key != MAX_ITEMS_HINT}
    if out.get("type") == "string" and "enum" not in out:
        out.setdefault("maxLength", GRAMMAR_MAX_STRING)
    if out.get("type") == "array":
        items = out.get("items") or {}
        is_text = isinstance(items, dict) and items.get("type") == "string"
        out["maxItems"] = node.get(MAX_ITEMS_HINT) or (GRAMMAR_MAX_STRINGS if is_text else GRAMMAR_MAX_OBJECTS)
    return out


def _public(node: Any) -> Any:
    """The schema without our own hints (what other servers and the prompt see)."""
    if isinstance(node, list):
        return [_public(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: _public(value) for key, value in node.items() if key != MAX_ITEMS_HINT}


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
    decoder = json.JSONDecoder(strict=False)  # raw newlines inside strings: small models write them, grammars allow them
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

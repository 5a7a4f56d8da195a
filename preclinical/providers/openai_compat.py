"""Target provider "openai": an agent behind any OpenAI-compatible chat completions API (stateless per turn)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from preclinical.domain.secrets import SERVER_KEY_OPT_IN
from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 1024
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

# canonical name -> accepted spellings, first match wins
_ALIASES: dict[str, tuple[str, ...]] = {
    "api_key": ("api_key", "apiKey"),
    "base_url": ("base_url", "baseUrl"),
    "model": ("target_model", "model", "targetModel"),
    "system_prompt": ("system_prompt", "systemPrompt"),
    "temperature": ("temperature",),
    "max_tokens": ("max_tokens",),
    "headers": ("headers",),
    "timeout_s": ("timeout_s",),
}


@dataclass(frozen=True)
class TargetSettings:
    api_key: str
    base_url: str
    model: str
    system_prompt: str | None
    temperature: float
    max_tokens: int
    headers: dict[str, str]
    timeout_s: float


def _pick(config: dict[str, Any], name: str) -> tuple[str, Any]:
    for key in _ALIASES[name]:
        if config.get(key) is not None:
            return key, config[key]
    return _ALIASES[name][0], None


def _read_config(config: dict[str, Any]) -> dict[str, Any]:
    """Type-check the agent config and return the values given, by canonical name (None = not given)."""
    if not isinstance(config, dict):
        raise InvalidInput("Agent config must be an object", extra={"field": "config"})
    values: dict[str, Any] = {}
    for name in ("api_key", "base_url", "model", "system_prompt"):
        key, value = _pick(config, name)
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"Agent config field '{key}' must be a string", extra={"field": key})
        values[name] = (value.strip() or None) if isinstance(value, str) else None
    if values["base_url"] and urlsplit(values["base_url"]).scheme not in ("http", "https"):
        raise InvalidInput("Agent config field 'base_url' must be an http:// or https:// URL", extra={"field": "base_url"})

    key, value = _pick(config, "temperature")
    if value is not None and (not _is_number(value) or not 0 <= value <= 2):
        raise InvalidInput(f"Agent config field '{key}' must be a number between 0 and 2", extra={"field": key})
    values["temperature"] = value

    key, value = _pick(config, "max_tokens")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidInput(f"Agent config field '{key}' must be a positive integer", extra={"field": key})
    values["max_tokens"] = value

    key, value = _pick(config, "timeout_s")
    if value is not None and (not _is_number(value) or value <= 0):
        raise InvalidInput(f"Agent config field '{key}' must be a positive number of seconds", extra={"field": key})
    values["timeout_s"] = value

    key, value = _pick(config, "headers")
    if value is not None and (
        not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    ):
        raise InvalidInput(f"Agent config field '{key}' must be an object of string header values", extra={"field": key})
    values["headers"] = value

    value = config.get(SERVER_KEY_OPT_IN)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"Agent config field '{SERVER_KEY_OPT_IN}' must be true or false",
                           extra={"field": SERVER_KEY_OPT_IN})
    values[SERVER_KEY_OPT_IN] = bool(value)
    return values


def _same_endpoint(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> TargetSettings:
    """The settings a session uses: the agent config, then the environment fallbacks, then defaults."""
    values = _read_config(config)
    own_base_url = env.openai_base_url or DEFAULT_BASE_URL
    base_url = values["base_url"] or own_base_url
    api_key = values["api_key"]
    if not api_key and env.openai_api_key:
        # The server's own model key goes only where the server itself sends it, or where the user paired it.
        if _same_endpoint(base_url, own_base_url) or values[SERVER_KEY_OPT_IN]:
            api_key = env.openai_api_key
        elif urlsplit(base_url).hostname not in LOCAL_HOSTS:
            raise ProviderError(
                f"Agent has no api_key, and the server's OPENAI_API_KEY is only sent to its own model endpoint "
                f"({own_base_url}): set api_key in the agent config, or set {SERVER_KEY_OPT_IN}: true to send "
                f"it to {base_url}", code="PROVIDER_AUTH", retryable=False)
    if not api_key:
        if urlsplit(base_url).hostname not in LOCAL_HOSTS:
            raise ProviderError(
                "Agent missing api_key in config and no OPENAI_API_KEY is set", code="PROVIDER_AUTH", retryable=False
            )
        api_key = "local"  # local servers ignore the key, the SDK insists on one
    return TargetSettings(
        api_key=api_key,
        base_url=base_url,
        model=values["model"] or DEFAULT_MODEL,
        system_prompt=values["system_prompt"],
        temperature=DEFAULT_TEMPERATURE if values["temperature"] is None else float(values["temperature"]),
        max_tokens=values["max_tokens"] or DEFAULT_MAX_TOKENS,
        headers=dict(values["headers"] or {}),
        timeout_s=float(values["timeout_s"] or env.request_timeout_s),
    )


def build_messages(system_prompt: str | None, transcript: list[dict[str, Any]], message: str) -> list[dict[str, str]]:
    """Chat history as the target sees it: its system prompt, the conversation so far, the new patient message.

    `system` transcript entries are our own error markers, never something the target said, so they are left out.
    """
    roles = {"attacker": "user", "target": "assistant"}
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for entry in transcript:
        role = roles.get(entry.get("role", ""))
        if role is not None:
            content = entry.get("content")
            messages.append({"role": role, "content": content if isinstance(content, str) else str(content or "")})
    messages.append({"role": "user", "content": message})
    return messages


class OpenAISession:
    """One scenario run's conversation with the target, over the provider's pooled HTTP session."""

    def __init__(self, settings: TargetSettings, transport: HttpTransport) -> None:
        self.settings = settings
        self._transport = transport
        self._url = settings.base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {settings.api_key}", **settings.headers}

    async def send(self, message: str, ctx: TurnContext) -> str:
        s = self.settings
        payload = {
            "model": s.model,
            "messages": build_messages(s.system_prompt, ctx.transcript, message),
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
        }
        try:
            body = await self._transport.request_json(
                "POST", self._url, payload=payload, headers=self._headers, timeout_s=s.timeout_s,
                what="OpenAI target call")
        except ProviderError as exc:
            if exc.code == "TIMEOUT":
                raise ProviderError(f"Target did not answer within {s.timeout_s:g}s", code="TIMEOUT",
                                    retryable=False) from None
            raise
        choices = body.get("choices") if isinstance(body, dict) else None
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            shown = json.dumps(body)[:120] if isinstance(body, dict | list) else repr(body)[:120]
            raise ProviderError(f"Target's answer is not a chat completion (no choices): {shown}",
                                code="BAD_RESPONSE", retryable=True)
        reply = choices[0].get("message")
        content = reply.get("content") if isinstance(reply, dict) else None
        return content if isinstance(content, str) else ""

    async def close(self) -> None:
        """Nothing to release: the HTTP session is shared and pooled."""


class OpenAIProvider:
    name = "openai"
    label = "OpenAI-compatible chat API"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        self.transport = transport or HttpTransport()

    def validate_config(self, config: dict[str, Any]) -> None:
        _read_config(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> OpenAISession:
        return OpenAISession(resolve_settings(config, env), self.transport)

    async def aclose(self) -> None:
        await self.transport.close()

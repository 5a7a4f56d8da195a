"""Target provider "openai": an agent behind any OpenAI-compatible chat completions API (stateless per turn)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from preclinical.domain.secrets import SERVER_KEY_OPT_IN
from preclinical.errors import ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # when neither the agent nor OPENAI_BASE_URL names one
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

SPEC = registry.SPECS["openai"]


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


def _same_endpoint(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> TargetSettings:
    """The settings a session uses: the agent config, then the environment fallbacks, then defaults."""
    values = SPEC.parse(config)
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
        api_key = "local"  # placeholder bearer token: local servers ignore it, and the Authorization header always carries one
    return TargetSettings(
        api_key=api_key,
        base_url=base_url,
        model=values["target_model"],
        system_prompt=values["system_prompt"],
        temperature=values["temperature"],
        max_tokens=values["max_tokens"],
        headers=dict(values["headers"] or {}),
        timeout_s=values["timeout_s"] or env.request_timeout_s,
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
        SPEC.parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> OpenAISession:
        return OpenAISession(resolve_settings(config, env), self.transport)

    async def aclose(self) -> None:
        await self.transport.close()

"""Target provider "vapi": a Vapi assistant over the Vapi chat API, one chat chained to the next per turn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from preclinical.errors import ProviderError
from preclinical.providers import common, registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

log = logging.getLogger(__name__)

SPEC = registry.SPECS["vapi"]

HINTS = {
    "PROVIDER_AUTH": "check the agent's api_key (Vapi private API key, not the public one)",
    "PROVIDER_NOT_FOUND": "check the agent's assistant_id and base_url",
    "INVALID_INPUT": "Vapi rejected the request; check the assistant_id and the assistant's chat settings",
    "TIMEOUT": "the assistant is slow or unreachable; raise timeout_s on the agent if it needs longer",
}


@dataclass(frozen=True)
class VapiSettings:
    api_key: str
    assistant_id: str
    base_url: str
    timeout_s: float


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> VapiSettings:
    values = SPEC.parse(config)
    if not values["api_key"]:
        raise ProviderError("Agent missing api_key in config: set the Vapi private API key on the agent",
                            code="PROVIDER_AUTH")
    if not values["assistant_id"]:
        raise common.missing("assistant_id", "assistant_id", "vapi")
    return VapiSettings(
        api_key=values["api_key"],
        assistant_id=values["assistant_id"],
        base_url=values["base_url"].rstrip("/"),
        timeout_s=values["timeout_s"] or env.request_timeout_s,
    )


def assistant_text(body: Any) -> str:
    """The assistant's words in a chat response: every assistant message of `output`, in order.

    `output` is an array of `{role, content}` messages (tool calls and other roles are skipped); an
    older string `output` is accepted as is.
    """
    if not isinstance(body, dict):
        return ""
    output = body.get("output")
    if isinstance(output, str):
        return output
    if not isinstance(output, list):
        return ""
    parts = [
        m["content"].strip() for m in output
        if isinstance(m, dict) and m.get("role") == "assistant" and isinstance(m.get("content"), str) and m["content"].strip()
    ]
    return "\n\n".join(parts)


class VapiSession:
    """One scenario run's conversation: each turn is a new chat that names the previous one (`previousChatId`)."""

    def __init__(self, settings: VapiSettings, transport: HttpTransport) -> None:
        self.settings = settings
        self._transport = transport
        self._url = settings.base_url + "/chat"
        self._headers = {"Authorization": f"Bearer {settings.api_key}"}
        self.chat_id: str | None = None

    async def send(self, message: str, ctx: TurnContext) -> str:
        payload: dict[str, Any] = {"assistantId": self.settings.assistant_id, "input": message}
        if self.chat_id:
            payload["previousChatId"] = self.chat_id
        try:
            body = await self._transport.request_json(
                "POST", self._url, payload=payload, headers=self._headers, timeout_s=self.settings.timeout_s,
                what="Vapi chat call")
        except ProviderError as exc:
            raise common.explain(exc, HINTS) from None
        chat_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(chat_id, str) and chat_id:
            self.chat_id = chat_id
        else:
            log.warning("Vapi chat response has no id; the next turn starts a new chat without context")
        return assistant_text(body)

    async def close(self) -> None:
        """Nothing to release: chats live on Vapi's side and the HTTP session is pooled."""


class VapiProvider:
    name = "vapi"
    label = "Vapi assistant (chat API)"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        self.transport = transport or HttpTransport()

    def validate_config(self, config: dict[str, Any]) -> None:
        SPEC.parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> VapiSession:
        return VapiSession(resolve_settings(config, env), self.transport)

    async def aclose(self) -> None:
        await self.transport.close()

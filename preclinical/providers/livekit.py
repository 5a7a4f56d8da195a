"""Target provider "livekit": saved and validated, but not runnable in this version (it needs a WebRTC client)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn

from preclinical.errors import ProviderError
from preclinical.providers import common
from preclinical.providers.base import ProviderEnv

if TYPE_CHECKING:
    from preclinical.providers.transport import HttpTransport

NOT_RUNNABLE = (
    "LiveKit agents cannot be run yet in this version: joining a LiveKit room needs a WebRTC client that this "
    "build does not include. To test the same agent now, expose it over HTTP and add it with the 'http' or "
    "'openai' provider."
)


def _read(config: Any) -> None:
    config = common.require_object(config)
    common.url(config, ("url",), schemes=("ws", "wss", "http", "https"))
    common.url(config, ("token_url", "tokenUrl"))
    for keys in (("api_key", "apiKey"), ("api_secret", "apiSecret"), ("agent_name", "agentName"),
                 ("room_prefix", "roomPrefix"), ("room_name", "roomName"), ("token_field", "tokenField"),
                 ("token", "jwt", "livekit_token", "livekitToken")):
        common.text(config, keys)
    for key, allowed in (("dispatch_mode", ("auto", "explicit")), ("auth_mode", ("api", "token"))):
        value = common.text(config, (key,))
        if value is not None and value not in allowed:
            raise common.bad_field(key, " or ".join(allowed))
    for key in ("token_headers", "token_body"):
        value = config.get(key)
        if isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except ValueError:
                raise common.bad_field(key, "a JSON object") from None
        if value not in (None, "") and not isinstance(value, dict):
            raise common.bad_field(key, "a JSON object")
    common.flag(config, ("auto_cleanup", "autoCleanup"))


class LiveKitProvider:
    name = "livekit"
    label = "LiveKit agent (room text streams)"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        """Providers share one constructor; this one makes no HTTP calls."""

    def validate_config(self, config: dict[str, Any]) -> None:
        _read(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> NoReturn:
        raise ProviderError(NOT_RUNNABLE, code="INVALID_INPUT")

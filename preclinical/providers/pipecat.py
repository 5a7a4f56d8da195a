"""Target provider "pipecat": saved and validated, but not runnable in this version (it needs a WebRTC client)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from preclinical.errors import ProviderError
from preclinical.providers import common
from preclinical.providers.base import ProviderEnv

if TYPE_CHECKING:
    from preclinical.providers.transport import HttpTransport

NOT_RUNNABLE = (
    "Pipecat agents cannot be run yet in this version: a Pipecat Cloud session talks over a LiveKit or Daily "
    "WebRTC transport, and this build includes no WebRTC client. To test the same agent now, expose it over "
    "HTTP and add it with the 'http' or 'openai' provider."
)


def _read(config: Any) -> None:
    config = common.require_object(config)
    common.url(config, ("base_url", "baseUrl"))
    common.url(config, ("livekit_url", "livekitUrl"), schemes=("ws", "wss", "http", "https"))
    for keys in (("api_key", "apiKey"), ("agent_name", "agentName"), ("livekit_api_key",),
                 ("livekit_api_secret",), ("daily_api_key",)):
        common.text(config, keys)
    for key, allowed in (("transport", ("auto", "livekit", "daily")), ("mode", ("cloud", "local"))):
        value = common.text(config, (key,))
        if value is not None and value not in allowed:
            raise common.bad_field(key, " or ".join(allowed))
    common.flag(config, ("auto_cleanup", "autoCleanup"))


class PipecatProvider:
    name = "pipecat"
    label = "Pipecat Cloud agent"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        """Providers share one constructor; this one makes no HTTP calls."""

    def validate_config(self, config: dict[str, Any]) -> None:
        _read(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> NoReturn:
        raise ProviderError(NOT_RUNNABLE, code="INVALID_INPUT")

"""Target provider "livekit": saved and validated, but not runnable in this version (it needs a WebRTC client)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from preclinical.errors import ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv

if TYPE_CHECKING:
    from preclinical.providers.transport import HttpTransport

SPEC = registry.SPECS["livekit"]
NOT_RUNNABLE = (
    "LiveKit agents cannot be run yet in this version: joining a LiveKit room needs a WebRTC client that this "
    "build does not include. To test the same agent now, expose it over HTTP and add it with the 'http' or "
    "'openai' provider."
)


class LiveKitProvider:
    name = "livekit"
    label = "LiveKit agent (room text streams)"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        """Providers share one constructor; this one makes no HTTP calls."""

    def validate_config(self, config: dict[str, Any]) -> None:
        SPEC.parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> NoReturn:
        raise ProviderError(NOT_RUNNABLE, code="INVALID_INPUT")

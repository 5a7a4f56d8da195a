"""Target provider "pipecat": saved and validated, but not runnable in this version (it needs a WebRTC client)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from preclinical.errors import ProviderError
from preclinical.providers import registry
from preclinical.providers.base import ProviderEnv

if TYPE_CHECKING:
    from preclinical.providers.transport import HttpTransport

SPEC = registry.SPECS["pipecat"]
NOT_RUNNABLE = (
    "Pipecat agents cannot be run yet in this version: a Pipecat Cloud session talks over a LiveKit or Daily "
    "WebRTC transport, and this build includes no WebRTC client. To test the same agent now, expose it over "
    "HTTP and add it with the 'http' or 'openai' provider."
)


class PipecatProvider:
    name = "pipecat"
    label = "Pipecat Cloud agent"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        """Providers share one constructor; this one makes no HTTP calls."""

    def validate_config(self, config: dict[str, Any]) -> None:
        SPEC.parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> NoReturn:
        raise ProviderError(NOT_RUNNABLE, code="INVALID_INPUT")

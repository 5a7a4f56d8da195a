"""The one small protocol every target provider speaks: open a session, send a patient message, close."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ProviderEnv:
    """What a provider may read besides its agent config (fallbacks from settings, never os.environ)."""

    openai_api_key: str | None = None
    openai_base_url: str | None = None
    browser_use_api_key: str | None = None
    request_timeout_s: float = 60.0


@dataclass
class TurnContext:
    """What the conversation loop tells the target about the turn being played."""

    turn: int
    max_turns: int
    transcript: list[dict[str, Any]] = field(default_factory=list)  # earlier entries only
    persona: dict[str, Any] = field(default_factory=dict)


class TargetSession(Protocol):
    async def send(self, message: str, ctx: TurnContext) -> str:
        """Send one patient message and return the agent's reply text.

        Raises `preclinical.errors.ProviderError` with a code on failure.
        """

    async def close(self) -> None:
        """Release the session; must not raise."""


class Provider(Protocol):
    """A provider class is made as `Class(transport)` by the runtime's `registry.ProviderSet`, which owns the
    pooled `HttpTransport` it shares; it reads its agent config through its `registry.SPECS` entry."""

    name: str
    label: str  # human name shown in the TUI

    def validate_config(self, config: dict[str, Any]) -> None:
        """Raise `InvalidInput` when the config cannot work (checked on create/patch)."""

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> TargetSession:
        """Start a conversation with the target agent."""

"""The registered target providers: their config fields (for validation, forms and docs) and their code.

Implementations are imported lazily: listing providers costs nothing; validating a config loads
the provider's module for its own rules. Provider instances (and the pooled HTTP session they share)
belong to a `ProviderSet`, which the runtime opens and closes.
"""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from typing import Any

from preclinical.errors import InvalidInput
from preclinical.providers.base import Provider
from preclinical.providers.transport import HttpTransport, Sleep

BROWSER_PROFILE_MESSAGE = (
    "Browser Use Profile ID is required. Create one at https://cloud.browser-use.com/settings?tab=profiles"
)


@dataclass(frozen=True)
class ConfigField:
    key: str
    label: str
    kind: str = "str"  # str | secret | int | float | bool | json | choice
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    label: str
    implementation: str  # "module:Class"
    fields: tuple[ConfigField, ...] = field(default_factory=tuple)
    max_concurrency: int | None = None
    description: str = ""

    def create(self, transport: HttpTransport | None = None) -> Provider:
        """A new instance of the provider, speaking HTTP through `transport` (a private one if None)."""
        module, _, name = self.implementation.partition(":")
        provider: Provider = getattr(importlib.import_module(module), name)(transport)
        return provider


_S, _SECRET = "str", "secret"

SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "openai",
            "OpenAI-compatible chat API",
            "preclinical.providers.openai_compat:OpenAIProvider",
            (
                ConfigField("base_url", "Base URL", aliases=("baseUrl",), help="Defaults to OPENAI_BASE_URL, then api.openai.com"),
                ConfigField("api_key", "API key", _SECRET, aliases=("apiKey",), help="Defaults to OPENAI_API_KEY"),
                ConfigField("target_model", "Model", aliases=("model", "targetModel"), default="gpt-4o-mini"),
                ConfigField("system_prompt", "System prompt", aliases=("systemPrompt",)),
                ConfigField("temperature", "Temperature", "float", default=0.7),
                ConfigField("headers", "Extra headers (JSON object)", "json"),
            ),
            description="Any chat-completions endpoint: OpenAI, a gateway, Ollama, vLLM, llama.cpp.",
        ),
        ProviderSpec(
            "vapi",
            "Vapi assistant (chat API)",
            "preclinical.providers.vapi:VapiProvider",
            (
                ConfigField("api_key", "API key", _SECRET, True, aliases=("apiKey",)),
                ConfigField("assistant_id", "Assistant ID", required=True, aliases=("provider_id", "providerId", "assistantId")),
                ConfigField("base_url", "API base", aliases=("api_base",), default="https://api.vapi.ai"),
            ),
        ),
        ProviderSpec(
            "livekit",
            "LiveKit agent (room text streams)",
            "preclinical.providers.livekit:LiveKitProvider",
            (
                ConfigField("url", "Server URL", required=True),
                ConfigField("api_key", "API key", aliases=("apiKey",)),
                ConfigField("api_secret", "API secret", _SECRET, aliases=("apiSecret",)),
                ConfigField("agent_name", "Agent name", aliases=("agentName",)),
                ConfigField("dispatch_mode", "Dispatch mode", "choice", default="auto", choices=("auto", "explicit")),
                ConfigField("auth_mode", "Auth mode", "choice", default="api", choices=("api", "token")),
                ConfigField("room_prefix", "Room prefix", default="preclinical-test"),
                ConfigField("token_url", "Token URL", aliases=("tokenUrl",)),
                ConfigField("token", "Static token", _SECRET, aliases=("jwt", "livekit_token", "livekitToken")),
            ),
        ),
        ProviderSpec(
            "pipecat",
            "Pipecat Cloud agent",
            "preclinical.providers.pipecat:PipecatProvider",
            (
                ConfigField("api_key", "API key", _SECRET, aliases=("apiKey",)),
                ConfigField("agent_name", "Agent name", aliases=("agentName",)),
                ConfigField("base_url", "API base", default="https://api.pipecat.daily.co"),
                ConfigField("transport", "Transport", "choice", default="auto", choices=("auto", "livekit", "daily")),
            ),
        ),
        ProviderSpec(
            "browser",
            "Web chat (Browser Use Cloud)",
            "preclinical.providers.browser:BrowserProvider",
            (
                ConfigField("url", "Chat page URL", required=True, aliases=("endpoint",)),
                ConfigField("profile_id", "Browser Use profile ID", required=True, aliases=("profileId",)),
                ConfigField("email", "Login e-mail"),
                ConfigField("password", "Login password", _SECRET),
                ConfigField("instructions", "Extra instructions"),
                ConfigField("task_timeout_s", "Max wait per turn (seconds)", "float", default=300.0),
                ConfigField("api_base", "Browser Use API base", default="https://api.browser-use.com/api/v2"),
            ),
            max_concurrency=3,
        ),
        ProviderSpec(
            "elevenlabs",
            "ElevenLabs conversational agent",
            "preclinical.providers.elevenlabs:ElevenLabsProvider",
            (
                ConfigField("api_key", "API key", _SECRET, True, aliases=("apiKey",)),
                ConfigField("agent_id", "Agent ID", required=True, aliases=("agentId",)),
                ConfigField("base_url", "API base", aliases=("api_base",), default="https://api.elevenlabs.io"),
                ConfigField("response_quiet_s", "Reply complete after quiet (seconds)", "float", default=1.5,
                            help="A reply ends when no further agent message arrives for this long"),
                ConfigField("text_only", "Force text-only mode (needs the override allowed)", "bool"),
                ConfigField("dynamic_variables", "Dynamic variables (JSON object)", "json"),
            ),
        ),
        ProviderSpec(
            "http",
            "Generic JSON webhook",
            "preclinical.providers.http:WebhookProvider",
            (
                ConfigField("url", "Webhook URL", required=True),
                ConfigField("method", "Method", "choice", default="POST", choices=("POST", "PUT")),
                ConfigField("headers", "Headers (JSON object)", "json"),
                ConfigField("auth_token", "Bearer token", _SECRET),
                ConfigField("request_template", "Request body template (JSON)", "json",
                            help='Placeholders: {{message}}, {{session_id}}, {{turn}}, {{history}}'),
                ConfigField("response_path", "Reply path in the response", default="reply",
                            help="Dotted path, e.g. choices.0.message.content"),
            ),
        ),
        ProviderSpec(
            "demo",
            "Demo triage bot (built in)",
            "preclinical.providers.demo:DemoProvider",
            (ConfigField("style", "Style", "choice", default="careful", choices=("careful", "hasty")),),
            description="A rules-based triage bot that runs in-process, so a fresh install has something to test.",
        ),
    )
}

NAMES: tuple[str, ...] = tuple(SPECS)


class ProviderSet:
    """The provider instances of one runtime, made on first use, and the one pooled HTTP session they share.

    `sleep` waits between a provider's HTTP retries. `aclose` releases the session (it reopens lazily
    if the set is used again).
    """

    def __init__(self, *, sleep: Sleep = asyncio.sleep) -> None:
        self.transport = HttpTransport(sleep=sleep)
        self._made: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        provider = self._made.get(name)
        if provider is None:
            provider = self._made[name] = get_spec(name).create(self.transport)
        return provider

    async def aclose(self) -> None:
        await self.transport.close()


def unsupported_message(provider: Any) -> str:
    return f"Unsupported provider: {provider}. Supported providers: {', '.join(NAMES)}"


def get_spec(provider: str) -> ProviderSpec:
    spec = SPECS.get(provider) if isinstance(provider, str) else None
    if spec is None:
        raise InvalidInput(unsupported_message(provider))
    return spec


def config_value(config: dict[str, Any], field_: ConfigField) -> Any:
    for key in (field_.key, *field_.aliases):
        if config.get(key) not in (None, ""):
            return config[key]
    return None


_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "secret": (str,),
    "choice": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "json": (dict, list),
}


def validate_config(provider: str, config: Any) -> None:
    """Type-check the known fields of a provider config (saving is allowed with run-time fields missing)."""
    spec = get_spec(provider)
    if not isinstance(config, dict):
        raise InvalidInput("config must be an object")
    for f in spec.fields:
        for key in (f.key, *f.aliases):
            value = config.get(key)
            if value is None:
                continue
            if not isinstance(value, _KIND_TYPES[f.kind]) or (f.kind in ("int", "float") and isinstance(value, bool)):
                raise InvalidInput(f"config.{key} must be {_kind_words(f.kind)}")
            if f.kind == "choice" and value not in f.choices:
                raise InvalidInput(f"config.{key} must be one of: {', '.join(f.choices)}")
    if spec.name == "browser":
        profile = config.get("profile_id") or config.get("profileId")
        if not isinstance(profile, str) or not profile.strip():
            raise InvalidInput(BROWSER_PROFILE_MESSAGE)
    spec.create().validate_config(config)  # the provider's own rules (URL schemes, templates, ranges)


def _kind_words(kind: str) -> str:
    return {
        "str": "a string", "secret": "a string", "choice": "a string", "int": "an integer",
        "float": "a number", "bool": "true or false", "json": "an object",
    }[kind]

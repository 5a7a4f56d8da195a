"""The registered target providers: their config fields (for validation, forms and docs) and their code.

Implementations are imported lazily: listing providers costs nothing; validating a config loads
the provider's module for its own rules. Provider instances (and the pooled HTTP session they share)
belong to a `ProviderSet`, which the runtime opens and closes.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from preclinical.domain.secrets import SERVER_KEY_OPT_IN
from preclinical.errors import InvalidInput
from preclinical.providers.base import Provider
from preclinical.providers.transport import HttpTransport, Sleep

BROWSER_PROFILE_MESSAGE = (
    "Browser Use Profile ID is required. Create one at https://cloud.browser-use.com/settings?tab=profiles"
)


@dataclass(frozen=True)
class ConfigField:
    """One agent config field: how forms show it and how a config value is read and checked.

    A value is read from the first of `key` and its `aliases` that is set (None and blank count as unset);
    strings are stripped. Checks beyond the kind: `schemes` (a URL with one of these schemes and a host),
    `positive` and `bounds` (numbers), `values` (a JSON object's values: "text" strings, "scalar"
    strings, numbers or booleans) and `choices`. `seconds` only words the error ("a positive number of seconds").
    """

    key: str
    label: str
    kind: str = "str"  # str | secret | int | float | bool | json | choice
    required: bool = False  # for running (forms ask for it); saving is allowed without it
    default: Any = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    help: str = ""
    schemes: tuple[str, ...] = ()
    positive: bool = False
    bounds: tuple[float, float] | None = None
    values: str = ""
    seconds: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.aliases)

    def given(self, config: Mapping[str, Any]) -> tuple[str, Any]:
        """The spelling used in `config` and its value; `(key, None)` when the field is not set (None or blank)."""
        for key in self.keys:
            value = config.get(key)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return key, value
        return self.key, None

    def read(self, value: Any, spelled: str | None = None) -> Any:
        """`value` checked and normalised (None when unset, before the default); `InvalidInput` naming the field."""
        if value is None or value == "":
            return None
        key = spelled or self.key
        if self.kind in ("str", "secret", "choice"):
            if not isinstance(value, str):
                raise _bad(key, "a string")
            value = value.strip()
            if not value:
                return None
            if self.kind == "choice" and value not in self.choices:
                raise _bad(key, "one of: " + ", ".join(self.choices))
            if self.schemes:
                parts = urlsplit(value)
                if parts.scheme not in self.schemes or not parts.hostname:
                    raise _bad(key, _url_words(self.schemes))
            return value
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int if self.kind == "int" else (int, float)) \
                    or (isinstance(value, float) and not math.isfinite(value)):
                raise _bad(key, "an integer" if self.kind == "int" else "a number")
            if (self.positive and value <= 0) or (self.bounds and not self.bounds[0] <= value <= self.bounds[1]):
                raise _bad(key, self._number_words())
            return value if self.kind == "int" else float(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise _bad(key, "true or false")
            return value
        if self.kind == "json":
            if isinstance(value, str):  # JSON written as text (a form, an env file)
                try:
                    value = json.loads(value)
                except ValueError:
                    raise _bad(key, "a JSON object") from None
            if not isinstance(value, dict):
                raise _bad(key, "an object")
            allowed = {"text": (str,), "scalar": (str, int, float, bool)}.get(self.values)
            if allowed and not all(isinstance(k, str) and isinstance(v, allowed) for k, v in value.items()):
                raise _bad(key, "an object of string values" if self.values == "text"
                           else "an object of string, number or boolean values")
            return value
        raise ValueError(f"unknown config field kind {self.kind!r}")

    def _number_words(self) -> str:
        if self.kind == "int":
            return "a positive integer" if self.positive else "an integer"
        if self.bounds:
            return f"a number between {self.bounds[0]:g} and {self.bounds[1]:g}"
        if self.positive:
            return "a positive number of seconds" if self.seconds else "a positive number"
        return "a number"


def _bad(key: str, what: str) -> InvalidInput:
    return InvalidInput(f"config.{key} must be {what}", extra={"field": key})


def _url_words(schemes: tuple[str, ...]) -> str:
    shown = [f"{s}://" for s in schemes]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"{'an' if listed.startswith('http') else 'a'} {listed} URL"


@dataclass(frozen=True)
class ProviderSpec:
    """A provider: its name, its code (`module:Class`) and its config, described once.

    `fields` are the ones forms show; `advanced` ones are read the same way but only set by hand (API, import).
    """

    name: str
    label: str
    implementation: str  # "module:Class"
    fields: tuple[ConfigField, ...] = field(default_factory=tuple)
    max_concurrency: int | None = None
    description: str = ""
    advanced: tuple[ConfigField, ...] = field(default_factory=tuple)

    @property
    def all_fields(self) -> tuple[ConfigField, ...]:
        return self.fields + self.advanced

    def field_named(self, key: str) -> ConfigField:
        return next(f for f in self.all_fields if f.key == key)

    def parse(self, config: Any) -> dict[str, Any]:
        """The config by canonical key, each field checked and normalised, defaults applied (None when unset).

        Keys the spec does not describe are left out. `InvalidInput` names the field as it was spelled.
        """
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise InvalidInput("config must be an object")
        values: dict[str, Any] = {}
        for f in self.all_fields:
            spelled, raw = f.given(config)
            value = f.read(raw, spelled)
            values[f.key] = f.default if value is None else value
        return values

    def create(self, transport: HttpTransport | None = None) -> Provider:
        """A new instance of the provider, speaking HTTP through `transport` (a private one if None)."""
        module, _, name = self.implementation.partition(":")
        provider: Provider = getattr(importlib.import_module(module), name)(transport)
        return provider


_S, _SECRET = "str", "secret"
_HTTP = ("http", "https")
_SOCKET = ("ws", "wss", "http", "https")


def _timeout(default: float | None = None, key: str = "timeout_s",
             label: str = "Max wait per request (seconds)") -> ConfigField:
    return ConfigField(key, label, "float", default=default, positive=True, seconds=True)


SPECS: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        ProviderSpec(
            "openai",
            "OpenAI-compatible chat API",
            "preclinical.providers.openai_compat:OpenAIProvider",
            (
                ConfigField("base_url", "Base URL", aliases=("baseUrl",), schemes=_HTTP,
                            help="Defaults to OPENAI_BASE_URL, then api.openai.com"),
                ConfigField("api_key", "API key", _SECRET, aliases=("apiKey",), help="Defaults to OPENAI_API_KEY"),
                ConfigField("target_model", "Model", aliases=("model", "targetModel"), default="gpt-4o-mini"),
                ConfigField("system_prompt", "System prompt", aliases=("systemPrompt",)),
                ConfigField("temperature", "Temperature", "float", default=0.7, bounds=(0, 2)),
                ConfigField("headers", "Extra headers (JSON object)", "json", values="text"),
            ),
            description="Any chat-completions endpoint: OpenAI, a gateway, Ollama, vLLM, llama.cpp.",
            advanced=(
                ConfigField("max_tokens", "Max reply tokens", "int", default=1024, positive=True),
                _timeout(),
                ConfigField(SERVER_KEY_OPT_IN, "Send the server's OPENAI_API_KEY to this endpoint", "bool",
                            default=False),
            ),
        ),
        ProviderSpec(
            "vapi",
            "Vapi assistant (chat API)",
            "preclinical.providers.vapi:VapiProvider",
            (
                ConfigField("api_key", "API key", _SECRET, True, aliases=("apiKey",)),
                ConfigField("assistant_id", "Assistant ID", required=True, aliases=("provider_id", "providerId", "assistantId")),
                ConfigField("base_url", "API base", aliases=("api_base",), default="https://api.vapi.ai", schemes=_HTTP),
            ),
            advanced=(_timeout(),),
        ),
        ProviderSpec(
            "livekit",
            "LiveKit agent (room text streams)",
            "preclinical.providers.livekit:LiveKitProvider",
            (
                ConfigField("url", "Server URL", required=True, schemes=_SOCKET),
                ConfigField("api_key", "API key", aliases=("apiKey",)),
                ConfigField("api_secret", "API secret", _SECRET, aliases=("apiSecret",)),
                ConfigField("agent_name", "Agent name", aliases=("agentName",)),
                ConfigField("dispatch_mode", "Dispatch mode", "choice", default="auto", choices=("auto", "explicit")),
                ConfigField("auth_mode", "Auth mode", "choice", default="api", choices=("api", "token")),
                ConfigField("room_prefix", "Room prefix", aliases=("roomPrefix",), default="preclinical-test"),
                ConfigField("token_url", "Token URL", aliases=("tokenUrl",), schemes=_HTTP),
                ConfigField("token", "Static token", _SECRET, aliases=("jwt", "livekit_token", "livekitToken")),
            ),
            advanced=(
                ConfigField("room_name", "Room name", aliases=("roomName",)),
                ConfigField("token_field", "Token field in the token URL's answer", aliases=("tokenField",)),
                ConfigField("token_headers", "Token request headers (JSON object)", "json"),
                ConfigField("token_body", "Token request body (JSON object)", "json"),
                ConfigField("auto_cleanup", "Delete the room afterwards", "bool", aliases=("autoCleanup",)),
            ),
        ),
        ProviderSpec(
            "pipecat",
            "Pipecat Cloud agent",
            "preclinical.providers.pipecat:PipecatProvider",
            (
                ConfigField("api_key", "API key", _SECRET, aliases=("apiKey",)),
                ConfigField("agent_name", "Agent name", aliases=("agentName",)),
                ConfigField("base_url", "API base", aliases=("baseUrl",), default="https://api.pipecat.daily.co",
                            schemes=_HTTP),
                ConfigField("transport", "Transport", "choice", default="auto", choices=("auto", "livekit", "daily")),
            ),
            advanced=(
                ConfigField("livekit_url", "LiveKit URL", aliases=("livekitUrl",), schemes=_SOCKET),
                ConfigField("livekit_api_key", "LiveKit API key"),
                ConfigField("livekit_api_secret", "LiveKit API secret", _SECRET),
                ConfigField("daily_api_key", "Daily API key", _SECRET),
                ConfigField("mode", "Mode", "choice", choices=("cloud", "local")),
                ConfigField("auto_cleanup", "Delete the room afterwards", "bool", aliases=("autoCleanup",)),
            ),
        ),
        ProviderSpec(
            "browser",
            "Web chat (Browser Use Cloud)",
            "preclinical.providers.browser:BrowserProvider",
            (
                ConfigField("url", "Chat page URL", required=True, aliases=("endpoint",), schemes=_HTTP),
                ConfigField("profile_id", "Browser Use profile ID", required=True, aliases=("profileId",)),
                ConfigField("email", "Login e-mail"),
                ConfigField("password", "Login password", _SECRET),
                ConfigField("instructions", "Extra instructions"),
                _timeout(300.0, "task_timeout_s", "Max wait per turn (seconds)"),
                ConfigField("api_base", "Browser Use API base", default="https://api.browser-use.com/api/v2",
                            schemes=_HTTP),
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
                ConfigField("base_url", "API base", aliases=("api_base",), default="https://api.elevenlabs.io",
                            schemes=_HTTP),
                ConfigField("response_quiet_s", "Reply complete after quiet (seconds)", "float", default=1.5,
                            positive=True, seconds=True,
                            help="A reply ends when no further agent message arrives for this long"),
                ConfigField("text_only", "Force text-only mode (needs the override allowed)", "bool"),
                ConfigField("dynamic_variables", "Dynamic variables (JSON object)", "json", values="scalar"),
            ),
            advanced=(_timeout(),),
        ),
        ProviderSpec(
            "http",
            "Generic JSON webhook",
            "preclinical.providers.http:WebhookProvider",
            (
                ConfigField("url", "Webhook URL", required=True, schemes=_HTTP),
                ConfigField("method", "Method", "choice", default="POST", choices=("POST", "PUT")),
                ConfigField("headers", "Headers (JSON object)", "json", values="text"),
                ConfigField("auth_token", "Bearer token", _SECRET),
                ConfigField("request_template", "Request body template (JSON)", "json",
                            help='Placeholders: {{message}}, {{session_id}}, {{turn}}, {{history}}'),
                ConfigField("response_path", "Reply path in the response", default="reply",
                            help="Dotted path, e.g. choices.0.message.content"),
            ),
            advanced=(_timeout(),),
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
    """The raw value a stored config holds for a field (under its key or an alias), unchecked; None if unset."""
    return field_.given(config)[1]


def validate_config(provider: str, config: Any) -> None:
    """Check a provider config before saving it: every described field, then the provider's own rules
    (templates, paths, the browser profile). Fields a run needs may still be missing."""
    get_spec(provider).create().validate_config(config if config is not None else {})

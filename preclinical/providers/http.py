"""Target provider "http": any agent behind a JSON webhook, with a request template and a reply path.

Each turn sends one JSON request built from `request_template`, where a string that is exactly a
placeholder becomes that JSON value and placeholders inside longer strings are replaced by text:

- `{{message}}`    the patient's message (string)
- `{{session_id}}` a conversation id, stable for the whole scenario run (string)
- `{{turn}}`       the turn number, from 1 (integer)
- `{{history}}`    the conversation before this message: `[{"role": "user"|"assistant", "content": ...}]`

The reply text is read from the JSON response at `response_path`, a dotted path with list indexes
(`reply`, `choices.0.message.content`, `data[0].text`, `messages.-1.content`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from preclinical.errors import InvalidInput, ProviderError
from preclinical.providers import common, registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

PLACEHOLDERS = ("message", "session_id", "turn", "history")
DEFAULT_TEMPLATE: dict[str, Any] = {
    "message": "{{message}}", "session_id": "{{session_id}}", "turn": "{{turn}}", "history": "{{history}}",
}
SPEC = registry.SPECS["http"]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")

HINTS = {
    "PROVIDER_AUTH": "check the agent's auth_token or headers",
    "PROVIDER_NOT_FOUND": "check the agent's webhook url",
    "INVALID_INPUT": "the webhook rejected the request or its reply could not be read; check request_template",
    "TIMEOUT": "the webhook is slow or unreachable; raise timeout_s on the agent if it needs longer",
}


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    method: str
    headers: dict[str, str]
    template: dict[str, Any]
    response_path: str
    path: tuple[str | int, ...]
    timeout_s: float


def parse_path(path: str) -> tuple[str | int, ...]:
    """`"choices.0.message.content"` or `"choices[0].message.content"` → `("choices", 0, "message", "content")`."""
    parts: list[str | int] = []
    for segment in path.split("."):
        if not segment:
            raise ValueError("empty segment")
        pos = 0
        for m in _PATH_PART.finditer(segment):
            if m.start() != pos:
                raise ValueError(f"cannot read {segment!r}")
            name, index = m.groups()
            if index is not None:
                parts.append(int(index))
            elif re.fullmatch(r"-?\d+", name):
                parts.append(int(name))
            else:
                parts.append(name)
            pos = m.end()
        if pos != len(segment):
            raise ValueError(f"cannot read {segment!r}")
    return tuple(parts)


def _template_placeholders(node: Any) -> set[str]:
    if isinstance(node, str):
        return set(_PLACEHOLDER.findall(node))
    if isinstance(node, dict):
        return set().union(*(_template_placeholders(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_template_placeholders(v) for v in node)) if node else set()
    return set()


def _read(config: Any) -> dict[str, Any]:
    """The agent config by canonical key, with the template's placeholders and the reply path checked."""
    values = SPEC.parse(config)
    template = values["request_template"]
    if template is None:
        template = DEFAULT_TEMPLATE
    unknown = sorted(_template_placeholders(template) - set(PLACEHOLDERS))
    if unknown:
        known = ", ".join("{{" + name + "}}" for name in PLACEHOLDERS)
        raise InvalidInput(
            f"config.request_template uses unknown placeholder {{{{{unknown[0]}}}}}; known: {known}",
            extra={"field": "request_template"})
    values["template"] = template
    try:
        values["path"] = parse_path(values["response_path"])
    except ValueError as exc:
        raise InvalidInput(
            f"config.response_path is not a dotted path like choices.0.message.content ({exc})",
            extra={"field": "response_path"}) from None
    return values


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> WebhookSettings:
    values = _read(config)
    if not values["url"]:
        raise common.missing("url", "url", "http")
    headers = dict(values["headers"] or {})
    if values["auth_token"]:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {values['auth_token']}"
    return WebhookSettings(
        url=values["url"], method=values["method"], headers=headers, template=values["template"],
        response_path=values["response_path"], path=values["path"],
        timeout_s=values["timeout_s"] or env.request_timeout_s,
    )


def history_of(transcript: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The conversation so far in chat form; our own `system` error markers are left out."""
    roles = {"attacker": "user", "target": "assistant"}
    history = []
    for entry in transcript:
        role = roles.get(entry.get("role", ""))
        if role is not None:
            content = entry.get("content")
            history.append({"role": role, "content": content if isinstance(content, str) else str(content or "")})
    return history


def fill(node: Any, values: dict[str, Any]) -> Any:
    """The template with placeholders substituted: a whole-string placeholder keeps its JSON type."""
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node.strip())
        if whole:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: _as_text(values[m.group(1)]), node)
    if isinstance(node, dict):
        return {key: fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(value, values) for value in node]
    return node


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def extract(body: Any, path: tuple[str | int, ...], shown_path: str) -> str:
    """The reply text at `path`; a clear INVALID_INPUT error naming the path and what was there instead."""
    node = body
    for depth, part in enumerate(path):
        where = _shown(path[:depth]) or "the response"
        if isinstance(node, dict):
            key = str(part)
            if key not in node:
                raise _path_error(shown_path, f"'{key}' is missing in {where}", node)
            node = node[key]
        elif isinstance(node, list):
            if not isinstance(part, int):
                raise _path_error(shown_path, f"{where} is a list, so '{part}' must be an index", node)
            if not -len(node) <= part < len(node):
                raise _path_error(shown_path, f"index {part} is out of range in {where} ({len(node)} items)", node)
            node = node[part]
        else:
            raise _path_error(shown_path, f"{where} is {_kind(node)}, not an object or a list", node)
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, (dict, list)):
        raise _path_error(shown_path, f"it holds {_kind(node)}, not text", node)
    return str(node)


def _shown(parts: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in parts)


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return "a list"
    if isinstance(node, str):
        return "a string"
    if isinstance(node, bool):
        return "a boolean"
    if node is None:
        return "null"
    return "a number"


def _path_error(shown_path: str, what: str, node: Any) -> ProviderError:
    if isinstance(node, dict):
        found = "keys found: " + (", ".join(map(str, list(node)[:20])) or "none")
    elif isinstance(node, list):
        found = f"found a list of {len(node)} items"
    else:
        found = f"found {_kind(node)}"
    return ProviderError(
        f"Webhook reply has no text at response_path '{shown_path}': {what} ({found}). "
        "Set response_path on the agent to where the reply text is.",
        code="INVALID_INPUT",
    )


class WebhookSession:
    """One scenario run's conversation with the webhook; `session_id` is stable for all its turns."""

    def __init__(self, settings: WebhookSettings, transport: HttpTransport, session_id: str) -> None:
        self.settings = settings
        self.session_id = session_id
        self._transport = transport

    def request_body(self, message: str, ctx: TurnContext) -> Any:
        values = {"message": message, "session_id": self.session_id, "turn": ctx.turn,
                  "history": history_of(ctx.transcript)}
        return fill(self.settings.template, values)

    async def send(self, message: str, ctx: TurnContext) -> str:
        s = self.settings
        try:
            body = await self._transport.request_json(
                s.method, s.url, payload=self.request_body(message, ctx), headers=s.headers, timeout_s=s.timeout_s,
                what="Webhook call")
        except ProviderError as exc:
            raise common.explain(exc, HINTS) from None
        return extract(body, s.path, s.response_path)

    async def close(self) -> None:
        """Nothing to release: the HTTP session is shared and pooled."""


class WebhookProvider:
    name = "http"
    label = "Generic JSON webhook"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        self.transport = transport or HttpTransport()

    def validate_config(self, config: dict[str, Any]) -> None:
        _read(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> WebhookSession:
        return WebhookSession(resolve_settings(config, env), self.transport, scenario_run_id)

    async def aclose(self) -> None:
        await self.transport.close()

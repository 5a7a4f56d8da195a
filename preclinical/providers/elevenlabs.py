"""Target provider "elevenlabs": an ElevenLabs conversational agent over its WebSocket, in text.

Protocol: a signed URL is fetched with the API key (`GET /v1/convai/conversation/get-signed-url`), the
socket is opened, `conversation_initiation_client_data` is sent and `conversation_initiation_metadata`
awaited. Patient messages go out as `user_message`; the agent's words arrive as `agent_response`
events (`agent_response_event.agent_response`). A background reader answers every `ping` with a
`pong` carrying its `event_id` at once, also between turns, so the server never drops a slow scenario.

When a reply is complete (there is no "done" event in the protocol):

- a turn's reply starts with the first `agent_response` after the patient message was sent, and is
  complete once no further `agent_response` arrives for `response_quiet_s` (default 1.5 s); several
  responses inside that window are one multi-part reply, joined with blank lines;
- an `agent_response_correction` (the agent was cut short) replaces the text it corrects and ends
  the reply at once; so does the socket closing (what arrived is the reply; the next turn then fails);
- nothing within `timeout_s` (default: the target timeout, 60 s) is a TIMEOUT.

The agent's greeting (its first message, sent before the patient says anything) is awaited while
the conversation opens, for up to `response_quiet_s`, and kept as `session.greeting`: it is never
taken as the reply to turn 1. Agent messages that arrive between turns (late parts, a second
greeting) are logged and dropped rather than shifting every later turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from preclinical.domain.errors import code_for_status
from preclinical.errors import ProviderError
from preclinical.providers import common, registry
from preclinical.providers.base import ProviderEnv, TurnContext
from preclinical.providers.transport import HttpTransport

log = logging.getLogger(__name__)

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"
CONNECT_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 2.0
NORMAL_CLOSE = 1000

SPEC = registry.SPECS["elevenlabs"]

HINTS = {
    "PROVIDER_AUTH": "check the agent's api_key (an ElevenLabs API key with access to Conversational AI)",
    "PROVIDER_NOT_FOUND": "check the agent's agent_id and base_url",
    "TIMEOUT": "ElevenLabs did not answer in time; try again later",
}


@dataclass(frozen=True)
class ElevenLabsSettings:
    api_key: str
    agent_id: str
    base_url: str
    quiet_s: float
    timeout_s: float
    text_only: bool
    dynamic_variables: dict[str, Any]


def resolve_settings(config: dict[str, Any], env: ProviderEnv) -> ElevenLabsSettings:
    values = SPEC.parse(config)
    if not values["api_key"]:
        raise ProviderError("Agent missing api_key in config: set an ElevenLabs API key on the agent",
                            code="PROVIDER_AUTH")
    if not values["agent_id"]:
        raise common.missing("agent_id", "agent_id", "elevenlabs")
    return ElevenLabsSettings(
        api_key=values["api_key"],
        agent_id=values["agent_id"],
        base_url=values["base_url"].rstrip("/"),
        quiet_s=values["response_quiet_s"],
        timeout_s=values["timeout_s"] or env.request_timeout_s,
        text_only=bool(values["text_only"]),
        dynamic_variables=dict(values["dynamic_variables"] or {}),
    )


@dataclass(frozen=True)
class _Said:
    text: str


@dataclass(frozen=True)
class _Corrected:
    original: str
    corrected: str


@dataclass(frozen=True)
class _Failed:
    message: str


@dataclass(frozen=True)
class _Closed:
    code: int | None
    reason: str


class ElevenLabsSession:
    """One conversation on one socket; a background reader turns socket events into a queue."""

    def __init__(self, settings: ElevenLabsSettings, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.settings = settings
        self.conversation_id: str | None = None
        self.greeting: str | None = None
        self.dropped: list[str] = []  # agent messages that arrived between turns
        self._ws = ws
        self._events: asyncio.Queue[_Said | _Corrected | _Failed | _Closed] = asyncio.Queue()
        self._started = asyncio.Event()
        self._closed: _Closed | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read_loop(), name="elevenlabs reader")

    # ------------------------------------------------------------------ opening
    async def start(self) -> None:
        """Send the initiation data, await the metadata, then let the agent's greeting (if any) arrive."""
        init: dict[str, Any] = {"type": "conversation_initiation_client_data"}
        if self.settings.text_only:
            init["conversation_config_override"] = {"conversation": {"text_only": True}}
        if self.settings.dynamic_variables:
            init["dynamic_variables"] = self.settings.dynamic_variables
        await self._send_json(init)
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await self._started.wait()
        except TimeoutError:
            raise ProviderError(f"ElevenLabs did not start the conversation within {CONNECT_TIMEOUT_S:g}s",
                                code="TIMEOUT", retryable=True) from None
        if self.conversation_id is None:
            raise self._closed_error("before the conversation started", _closed_hint(self._closed))
        parts = await self._collect(first_wait_s=self.settings.quiet_s, required=False)
        self.greeting = "\n\n".join(parts) or None
        if self.greeting:
            log.debug("ElevenLabs greeting (not a reply): %r", self.greeting[:200])

    # ------------------------------------------------------------------ turns
    async def send(self, message: str, ctx: TurnContext) -> str:
        self._drop_stale()
        if self._closed is not None:
            raise self._closed_error("after the agent's last reply", "the agent may have ended the conversation")
        await self._send_json({"type": "user_message", "text": message})
        return "\n\n".join(await self._collect(first_wait_s=self.settings.timeout_s, required=True))

    async def _collect(self, *, first_wait_s: float, required: bool) -> list[str]:
        """The agent's next reply, by the rule in the module docstring."""
        parts: list[str] = []
        wait_s = first_wait_s
        while True:
            try:
                event = await asyncio.wait_for(self._events.get(), wait_s)
            except TimeoutError:
                if parts or not required:
                    return parts
                raise ProviderError(
                    f"ElevenLabs agent did not reply within {self.settings.timeout_s:g}s; "
                    "raise timeout_s on the agent if it needs longer", code="TIMEOUT", retryable=False) from None
            if isinstance(event, _Said):
                parts.append(event.text)
                wait_s = self.settings.quiet_s
            elif isinstance(event, _Corrected):
                _apply_correction(parts, event)
                return parts
            elif isinstance(event, _Failed):
                raise ProviderError(f"ElevenLabs agent error: {event.message}", code="SERVER_ERROR", retryable=True)
            else:  # _Closed
                if parts:
                    return parts
                raise self._closed_error("before the agent replied", _closed_hint(event))

    def _drop_stale(self) -> None:
        while not self._events.empty():
            event = self._events.get_nowait()
            if isinstance(event, _Said):
                log.info("ElevenLabs: dropping an agent message that arrived between turns: %r", event.text[:200])
                self.dropped.append(event.text)
            elif isinstance(event, _Failed):
                raise ProviderError(f"ElevenLabs agent error: {event.message}", code="SERVER_ERROR", retryable=True)

    def _closed_error(self, when: str, hint: str) -> ProviderError:
        closed = self._closed or _Closed(None, "")
        detail = f"code {closed.code}" if closed.code is not None else "no close code"
        if closed.reason:
            detail += f": {closed.reason}"
        return ProviderError(f"ElevenLabs closed the conversation {when} ({detail}); {hint}",
                             code="SERVER_ERROR", retryable=closed.code != NORMAL_CLOSE)

    # ------------------------------------------------------------------ socket
    async def _send_json(self, payload: dict[str, Any]) -> None:
        try:
            await self._ws.send_str(json.dumps(payload, ensure_ascii=False))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            raise ProviderError(f"ElevenLabs WebSocket is not connected ({exc}); the conversation was lost",
                                code="SERVER_ERROR", retryable=True) from None

    async def _read_loop(self) -> None:
        code: int | None = None
        reason = ""
        try:
            while True:
                msg = await self._ws.receive()
                if msg.type == aiohttp.WSMsgType.TEXT:
                    await self._handle(msg.data)
                elif msg.type == aiohttp.WSMsgType.CLOSE:
                    code, reason = msg.data, msg.extra or ""
                    break
                elif msg.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    code = self._ws.close_code
                    reason = str(msg.data or "") if msg.type == aiohttp.WSMsgType.ERROR else ""
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken socket ends the conversation like a close
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self._closed = _Closed(code, reason)
            self._events.put_nowait(self._closed)
            self._started.set()

    async def _handle(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            log.warning("ElevenLabs sent a frame that is not JSON: %r", data[:200])
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "ping":
            ping = event.get("ping_event") or {}
            await self._send_json({"type": "pong", "event_id": ping.get("event_id")})
        elif kind == "conversation_initiation_metadata":
            meta = event.get("conversation_initiation_metadata_event") or {}
            self.conversation_id = str(meta.get("conversation_id") or "unknown")
            self._started.set()
        elif kind == "agent_response":
            said = (event.get("agent_response_event") or {}).get("agent_response")
            if isinstance(said, str) and said.strip():
                self._events.put_nowait(_Said(said.strip()))
        elif kind == "agent_response_correction":
            fix = event.get("agent_response_correction_event") or {}
            self._events.put_nowait(_Corrected(str(fix.get("original_agent_response") or ""),
                                               str(fix.get("corrected_agent_response") or "").strip()))
        elif kind == "client_tool_call":
            call = event.get("client_tool_call") or {}
            await self._send_json({"type": "client_tool_result", "tool_call_id": call.get("tool_call_id"),
                                   "result": "Client tools are not available while Preclinical tests this agent.",
                                   "is_error": True})
        elif kind == "error":
            detail = event.get("error_event") or event.get("message") or event
            self._events.put_nowait(_Failed(detail if isinstance(detail, str) else json.dumps(detail)[:300]))

    async def close(self) -> None:
        """Stop the reader and close the socket; never raises."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        with contextlib.suppress(Exception):
            await self._ws.close()


def _apply_correction(parts: list[str], fix: _Corrected) -> None:
    """Replace the corrected part (or the last one) with its corrected text."""
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == fix.original.strip():
            parts[i] = fix.corrected
            break
    else:
        if parts:
            parts[-1] = fix.corrected
        elif fix.corrected:
            parts.append(fix.corrected)
    parts[:] = [p for p in parts if p]


def _closed_hint(closed: _Closed | None) -> str:
    if closed is not None and closed.code in (1008, 4001, 4003):
        return "check the agent_id, the API key's permissions and the agent's override settings (text_only)"
    return "try again; if it keeps happening, check the agent in the ElevenLabs dashboard"


class ElevenLabsProvider:
    name = "elevenlabs"
    label = "ElevenLabs conversational agent"

    def __init__(self, transport: HttpTransport | None = None) -> None:
        self.transport = transport or HttpTransport()

    def validate_config(self, config: dict[str, Any]) -> None:
        SPEC.parse(config)

    async def open(self, config: dict[str, Any], *, scenario_run_id: str, env: ProviderEnv) -> ElevenLabsSession:
        settings = resolve_settings(config, env)
        signed_url = await self._signed_url(settings)
        ws = await self._connect(signed_url)
        session = ElevenLabsSession(settings, ws)
        try:
            await session.start()
        except BaseException:
            await session.close()
            raise
        log.info("ElevenLabs conversation %s opened for scenario run %s", session.conversation_id, scenario_run_id)
        return session

    async def _signed_url(self, settings: ElevenLabsSettings) -> str:
        url = f"{settings.base_url}{SIGNED_URL_PATH}?{urlencode({'agent_id': settings.agent_id})}"
        try:
            body = await self.transport.request_json(
                "GET", url, headers={"xi-api-key": settings.api_key}, timeout_s=CONNECT_TIMEOUT_S,
                what="ElevenLabs signed URL request")
        except ProviderError as exc:
            raise common.explain(exc, HINTS) from None
        signed = body.get("signed_url") if isinstance(body, dict) else None
        if not isinstance(signed, str) or not signed.startswith(("ws://", "wss://")):
            raise ProviderError("ElevenLabs signed URL response has no WebSocket signed_url; check base_url",
                                code="INVALID_INPUT")
        return signed

    async def _connect(self, signed_url: str) -> aiohttp.ClientWebSocketResponse:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                return await self.transport.session().ws_connect(
                    signed_url, timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S), autoping=True,
                    max_msg_size=0)
        except TimeoutError:
            raise ProviderError(f"ElevenLabs WebSocket connection timed out after {CONNECT_TIMEOUT_S:g}s",
                                code="TIMEOUT", retryable=True) from None
        except aiohttp.WSServerHandshakeError as exc:
            code, retryable = code_for_status(exc.status)
            error = ProviderError(f"ElevenLabs WebSocket refused the connection ({exc.status}): {exc.message}",
                                  code=code, retryable=retryable, status=exc.status)
            raise common.explain(error, HINTS) from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"ElevenLabs WebSocket connection failed: {exc}", code="SERVER_ERROR",
                                retryable=True) from None

    async def aclose(self) -> None:
        await self.transport.close()

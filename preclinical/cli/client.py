"""A small client of the Preclinical HTTP API (aiohttp): JSON calls, downloads, the SSE event stream, one-line errors."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import click

from preclinical.cli.exit_codes import FAILED, NO_VERDICT, USAGE

DEFAULT_TIMEOUT_S = 30.0
_FILENAME = re.compile(r'filename="?([^";]+)"?')


class CommandError(click.ClickException):
    """An error a user meets: one line of text and the exit code the command ends with."""

    def __init__(self, message: str, exit_code: int = FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RequestRefused(CommandError):
    """The server answered with an error status; `message` is its `error` text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, FAILED)
        self.status = status


class ServerUnreachable(CommandError):
    """No answer from the server (refused, timed out, or the connection dropped)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, NO_VERDICT)


@dataclass(frozen=True)
class Download:
    text: str
    filename: str | None  # from Content-Disposition


def _query(params: dict[str, Any] | None) -> dict[str, str]:
    """Query parameters as strings, leaving out the ones not given."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def _error_text(status: int, raw: str) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = body.get("error") or body.get("message")
        if isinstance(message, str) and message:
            invalid = body.get("invalid_scenarios")
            if isinstance(invalid, list) and invalid:
                names = ", ".join(str(i.get("name") or i.get("id")) for i in invalid[:5] if isinstance(i, dict))
                more = f" and {len(invalid) - 5} more" if len(invalid) > 5 else ""
                message += f" ({len(invalid)} scenarios: {names}{more})"
            return message
    text = " ".join(raw.split())
    return text[:200] if text else f"HTTP {status}"


class ApiClient:
    """Calls one Preclinical API. `runtime` is set when that API is this process's own (local mode)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, runtime: Any = None) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.runtime = runtime

    @property
    def is_local(self) -> bool:
        return self.runtime is not None

    def _unreachable(self, exc: BaseException, method: str, path: str, timeout: float | None) -> ServerUnreachable:
        where = self.base_url
        if isinstance(exc, asyncio.TimeoutError):
            return ServerUnreachable(f"The server at {where} did not answer {method} {path} within {timeout:g} s")
        if isinstance(exc, aiohttp.ClientConnectorError):
            error = exc.os_error
            reason = "connection refused" if isinstance(error, ConnectionRefusedError) else error.strerror or str(error)
            return ServerUnreachable(
                f"Could not reach the Preclinical server at {where} ({reason}): start it with `preclinical serve`, "
                "or add --local to work on the local data dir")
        return ServerUnreachable(f"Lost the connection to the server at {where} ({type(exc).__name__}: {exc})")

    async def _send(self, method: str, path: str, *, params: dict[str, Any] | None, json_body: Any, body: str | None,
                    timeout: float | None, ok: tuple[int, ...]) -> tuple[int, str, Any]:
        kwargs: dict[str, Any] = {"params": _query(params), "timeout": aiohttp.ClientTimeout(total=timeout)}
        if json_body is not None:
            kwargs["json"] = json_body
        elif body is not None:
            kwargs["data"] = body.encode("utf-8")
            kwargs["headers"] = {"Content-Type": "text/plain; charset=utf-8"}
        try:
            async with self.session.request(method, self.base_url + path, **kwargs) as resp:
                raw = await resp.text(encoding="utf-8")
                if resp.status >= 400 and resp.status not in ok:
                    raise RequestRefused(resp.status, _error_text(resp.status, raw))
                return resp.status, raw, resp.headers.get("Content-Disposition")
        except (TimeoutError, aiohttp.ClientError) as exc:
            if isinstance(exc, aiohttp.InvalidURL):
                raise CommandError(f"Not a valid API URL: {self.base_url}", USAGE) from None
            raise self._unreachable(exc, method, path, timeout) from None

    async def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                   body: str | None = None, timeout: float = DEFAULT_TIMEOUT_S, ok: tuple[int, ...] = ()) -> Any:
        """The decoded JSON answer (None for 204); error statuses not in `ok` raise RequestRefused."""
        status, raw, _ = await self._send(method, path, params=params, json_body=json_body, body=body,
                                          timeout=timeout, ok=ok)
        if status == 204 or not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise CommandError(
                f"The server at {self.base_url} did not answer {method} {path} with JSON: is it a Preclinical server?",
                NO_VERDICT) from None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def download(self, path: str, *, params: dict[str, Any] | None = None,
                       timeout: float = 300.0) -> Download:
        """A text answer (an export) with the file name the server suggests."""
        _, raw, disposition = await self._send("GET", path, params=params, json_body=None, body=None,
                                               timeout=timeout, ok=())
        match = _FILENAME.search(disposition or "")
        return Download(raw, match.group(1) if match else None)

    async def events(self, run_id: str, *, last_event_id: int | None = None) -> AsyncIterator[dict[str, Any]]:
        """The run's events from `GET /events` (replayed, then live) until the server closes the stream."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = str(last_event_id)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=DEFAULT_TIMEOUT_S)
        try:
            async with self.session.get(self.base_url + "/events", params={"run_id": run_id}, headers=headers,
                                        timeout=timeout) as resp:
                if resp.status >= 400:
                    raise RequestRefused(resp.status, _error_text(resp.status, await resp.text()))
                async for frame in _frames(resp.content):
                    yield frame
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._unreachable(exc, "GET", "/events", None) from None

    async def settle(self, run_id: str) -> None:
        """In local mode, wait until this process has finished driving the run (a server drives its own)."""
        if self.runtime is not None:
            await self.runtime.executor.wait(run_id)


async def _frames(stream: aiohttp.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events as dicts: the JSON data, with `type` defaulting to the `event:` name."""
    name: str | None = None
    data: list[str] = []
    async for raw in stream:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    frame = json.loads(text)
                except ValueError:
                    frame = {"raw": text}
                if isinstance(frame, dict):
                    if name:
                        frame.setdefault("type", name)
                    yield frame
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value

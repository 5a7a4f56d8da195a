"""HTTP for providers: one pooled aiohttp session per provider set (the runtime's), JSON calls with bounded retries, error codes.

Providers speak plain HTTP to the agents under test (no per-session client to build), and every
failure becomes a `ProviderError` with a code: 429 → RATE_LIMIT, 5xx and connection resets →
SERVER_ERROR (both retried with backoff), 401/403 → PROVIDER_AUTH, 404 → PROVIDER_NOT_FOUND,
other 4xx → INVALID_INPUT (`domain.errors.code_for_status`); a success whose body is not JSON (an HTML
page, garbage, a truncated body) → BAD_RESPONSE, retried, then final.

`timeout_s` bounds the whole call, retries and their waits included: a hanging target fails with
TIMEOUT once that time is spent (and a TIMEOUT is not retried: there is no time left to retry in).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from preclinical import json_codec
from preclinical.domain.errors import BAD_RESPONSE, TIMEOUT, backoff_delay, code_for_status
from preclinical.errors import ProviderError

log = logging.getLogger(__name__)

MAX_RETRIES = 2

Sleep = Callable[[float], Awaitable[Any]]


class HttpTransport:
    """A lazily created, pooled client session shared by every conversation of the providers that hold it.

    `sleep` waits between retries (tests pass one that records the backoff instead of waiting).
    """

    def __init__(self, *, sleep: Sleep = asyncio.sleep) -> None:
        self._session: aiohttp.ClientSession | None = None
        self.sleep = sleep

    def session(self) -> aiohttp.ClientSession:
        if self._session is not None and self._session._loop is not asyncio.get_running_loop():
            self._session = None  # made on another event loop (a previous runtime); that loop is gone
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                json_serialize_bytes=json_codec.dumps_bytes,  # UTF-8 JSON without a str round trip (hot path)
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def request_json(
        self, method: str, url: str, *, payload: Any = None, headers: dict[str, str] | None = None,
        timeout_s: float, what: str, retries: int = MAX_RETRIES,
    ) -> Any:
        """Send a JSON request and return the decoded JSON reply, retrying retryable failures within `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                async with asyncio.timeout_at(deadline):
                    async with self.session().request(method, url, json=payload, headers=headers) as resp:
                        raw = await resp.read()
                        if resp.status < 400:
                            return _decode(raw, resp.content_type, what)
                        text = raw.decode("utf-8", "replace")
                        code, retryable = code_for_status(resp.status)
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                        error = ProviderError(f"{what} failed ({resp.status}): {text[:300]}", code=code,
                                              retryable=retryable, status=resp.status)
            except TimeoutError:
                raise ProviderError(f"{what}: no answer within {timeout_s:g}s", code=TIMEOUT, retryable=False) from None
            except ProviderError as exc:
                error = exc
            except aiohttp.ClientError as exc:
                error = ProviderError(f"{what} failed (connection error): {exc}", code="SERVER_ERROR", retryable=True)
            delay = backoff_delay(attempt, retry_after)
            if not error.retryable or attempt >= retries or loop.time() + delay >= deadline:
                raise error
            log.info("%s: %s; retry %d in %.2fs", what, error.code, attempt + 1, delay)
            await self.sleep(delay)
            attempt += 1


def _decode(raw: bytes, content_type: str, what: str) -> Any:
    """The JSON of a successful reply; anything else (HTML, garbage, cut off) is a BAD_RESPONSE."""
    if not raw.strip():
        return {}
    try:
        return json_codec.loads(raw)  # orjson: the hot path of every target and model call
    except json.JSONDecodeError:  # orjson's error is a JSONDecodeError; the stdlib also takes what orjson refuses
        pass  # (NaN, integers beyond 64 bits, a BOM, UTF-16), so a reply that decoded before still does
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        pass
    text = raw[:200].decode("utf-8", "replace").strip()
    kind = "an HTML page" if "html" in content_type or text.lower().startswith(("<!doctype", "<html")) else (
        "a body that is not JSON")
    raise ProviderError(f"{what} answered with {kind} ({content_type or 'no content type'}): {text[:120]!r}",
                        code=BAD_RESPONSE, retryable=True)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None

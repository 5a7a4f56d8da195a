"""HTTP for providers: one pooled aiohttp session per provider, JSON calls with bounded retries, error codes.

Providers speak plain HTTP to the agents under test (no per-session client to build), and every
failure becomes a `ProviderError` with a code: 429 → RATE_LIMIT, 5xx and connection resets →
SERVER_ERROR (both retried with backoff), 401/403 → PROVIDER_AUTH, 404 → PROVIDER_NOT_FOUND,
other 4xx → INVALID_INPUT, no answer in time → TIMEOUT (`domain.errors.code_for_status`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from preclinical.domain.errors import backoff_delay, code_for_status
from preclinical.errors import ProviderError

log = logging.getLogger(__name__)

MAX_RETRIES = 2
_sleep = asyncio.sleep  # tests replace this to skip backoff waits


class HttpTransport:
    """A lazily created, pooled client session shared by every conversation of one provider."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is not None and self._session._loop is not asyncio.get_running_loop():
            self._session = None  # made on another event loop (a previous runtime); that loop is gone
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                json_serialize=lambda obj: json.dumps(obj, ensure_ascii=False),
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
        """Send a JSON request and return the decoded JSON reply, retrying retryable failures."""
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                async with asyncio.timeout(timeout_s):
                    async with self.session().request(method, url, json=payload, headers=headers) as resp:
                        text = await resp.text()
                        if resp.status < 400:
                            return json.loads(text) if text.strip() else {}
                        code, retryable = code_for_status(resp.status)
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                        error = ProviderError(f"{what} failed ({resp.status}): {text[:300]}", code=code,
                                              retryable=retryable, status=resp.status)
            except TimeoutError:
                error = ProviderError(f"{what}: no answer within {timeout_s:g}s", code="TIMEOUT", retryable=True)
            except json.JSONDecodeError:
                raise ProviderError(f"{what} returned a body that is not JSON", code="INVALID_INPUT") from None
            except aiohttp.ClientError as exc:
                error = ProviderError(f"{what} failed (connection error): {exc}", code="SERVER_ERROR", retryable=True)
            if not error.retryable or attempt >= retries:
                raise error
            delay = backoff_delay(attempt, retry_after)
            log.info("%s: %s; retry %d in %.2fs", what, error.code, attempt + 1, delay)
            await _sleep(delay)
            attempt += 1


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None

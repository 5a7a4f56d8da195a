"""Fixtures for the provider tests: the fake services served on 127.0.0.1, and backoff sleeps skipped."""

from __future__ import annotations

import pytest

from preclinical.providers.transport import HttpTransport
from tests.fakes.browser_use_server import API, FakeBrowserUse
from tests.fakes.elevenlabs_server import FakeElevenLabs
from tests.fakes.vapi_server import FakeVapi
from tests.fakes.webhook_server import FakeWebhook


@pytest.fixture
def sleeps() -> list[float]:
    """The retry backoff waits of the `transport` fixture, recorded instead of slept."""
    return []


@pytest.fixture
async def transport(sleeps):
    """An HTTP transport for a provider under test, whose retry waits are recorded in `sleeps`."""

    async def no_wait(delay: float) -> None:
        sleeps.append(delay)

    made = HttpTransport(sleep=no_wait)
    yield made
    await made.close()


@pytest.fixture
async def fake_vapi(aiohttp_server) -> FakeVapi:
    fake = FakeVapi()
    fake.url = str((await aiohttp_server(fake.app)).make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def fake_webhook(aiohttp_server) -> FakeWebhook:
    fake = FakeWebhook()
    fake.url = str((await aiohttp_server(fake.app)).make_url("/hook"))
    return fake


@pytest.fixture
async def fake_elevenlabs(aiohttp_server) -> FakeElevenLabs:
    fake = FakeElevenLabs()
    fake.url = str((await aiohttp_server(fake.app)).make_url("")).rstrip("/")
    return fake


@pytest.fixture
async def fake_browser_use(aiohttp_server) -> FakeBrowserUse:
    fake = FakeBrowserUse()
    fake.url = str((await aiohttp_server(fake.app)).make_url(API))
    return fake

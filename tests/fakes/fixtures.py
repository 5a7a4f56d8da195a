"""Pytest fixtures that serve the fake network peers (the fake OpenAI-compatible server) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
async def fake_openai(aiohttp_server) -> AsyncIterator[FakeOpenAI]:
    """A running FakeOpenAI; `.url` is its base URL ending in /v1."""
    fake = FakeOpenAI()
    server = await aiohttp_server(fake.app)
    fake.url = str(server.make_url("/v1"))
    yield fake

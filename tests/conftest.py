"""Shared fixtures: an isolated runtime on tmp_path and an aiohttp test client over `make_app`."""

from __future__ import annotations

import pytest

from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from tests.support import FixedClock, isolated_settings, seeded_rng

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(autouse=True)
def _no_user_environment(monkeypatch, tmp_path):
    """Tests never read the developer's own config, data dir or model keys."""
    for name in ("PRECLINICAL_HOME", "PRECLINICAL_CONFIG", "PRECLINICAL_HOST", "PRECLINICAL_PORT",
                 "PRECLINICAL_API_KEY", "PRECLINICAL_API_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                 "TESTER_MODEL", "GRADER_MODEL", "GENERATOR_MODEL", "TESTER_BASE_URL", "TESTER_API_KEY",
                 "GRADER_BASE_URL", "GRADER_API_KEY", "GENERATOR_BASE_URL", "GENERATOR_API_KEY", "STRUCTURED_MODE",
                 "LLM_TIMEOUT_S", "LLM_MAX_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture
async def runtime(tmp_path):
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock(), rng=seeded_rng()) as rt:
        yield rt


@pytest.fixture
async def client(runtime, aiohttp_client):
    return await aiohttp_client(make_app(runtime))

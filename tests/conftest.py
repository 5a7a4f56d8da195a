"""Shared fixtures: an isolated runtime on tmp_path and an aiohttp test client over `make_app`."""

from __future__ import annotations

import pytest

from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from tests import support
from tests.support import FixedClock, isolated_settings, seeded_rng

pytest_plugins = ["tests.fakes.fixtures"]


@pytest.fixture(autouse=True)
def _no_user_environment(monkeypatch, tmp_path):
    """Tests never read the developer's own config, data dir or model keys."""
    for name in ("PRECLINICAL_HOME", "PRECLINICAL_CONFIG", "PRECLINICAL_HOST", "PRECLINICAL_PORT",
                 "PRECLINICAL_API_KEY", "PRECLINICAL_API_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                 "TESTER_MODEL", "GRADER_MODEL", "GENERATOR_MODEL", "TESTER_BASE_URL", "TESTER_API_KEY",
                 "GRADER_BASE_URL", "GRADER_API_KEY", "GENERATOR_BASE_URL", "GENERATOR_API_KEY", "STRUCTURED_MODE",
                 "LLM_TIMEOUT_S", "LLM_MAX_TOKENS", "PRECLINICAL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL server for the session (per xdist worker); skips where none can be started."""
    from tests.pg_server import PostgresServer, Unavailable

    try:
        server = PostgresServer.start()
    except Unavailable as exc:
        pytest.skip(f"PostgreSQL store not tested: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_databases(postgres_server):
    """Fresh, empty databases on the session's server, one per data directory asked for; dropped after the test."""
    made: dict[str, str] = {}

    def database_for(data_dir) -> str:
        key = str(data_dir)
        if key not in made:
            made[key] = postgres_server.create_database()
        return made[key]

    yield database_for
    for url in made.values():
        postgres_server.drop_database(url.split("?")[0].rsplit("/", 1)[1])


def use_store(request, kind: str):
    """Point `isolated_settings` (and so `runtime`) at the store `kind` ("sqlite" or "postgres") for one test."""
    support.store_database = request.getfixturevalue("postgres_databases") if kind == "postgres" else None
    try:
        yield kind
    finally:
        support.store_database = None


@pytest.fixture
def store(request):
    """The store a test runs on: SQLite unless a suite overrides this fixture (tests/api runs on both)."""
    yield from use_store(request, getattr(request, "param", "sqlite"))


@pytest.fixture
async def runtime(tmp_path):
    async with open_runtime(isolated_settings(tmp_path), now=FixedClock(), rng=seeded_rng()) as rt:
        yield rt


@pytest.fixture
async def client(runtime, aiohttp_client):
    return await aiohttp_client(make_app(runtime))

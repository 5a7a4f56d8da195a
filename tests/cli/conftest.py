"""CLI test fixtures: a real API server on a free port, a CliRunner driven from a thread, an isolated HOME."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result

from preclinical.cli import cli
from preclinical.server.app import serve


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch, tmp_path):
    """The published CLI's ~/.preclinical/config.toml is read from a HOME of our own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    # Tables are checked by their text: a terminal size inherited from the environment (xdist workers
    # set COLUMNS=80) must not change how they wrap.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    return home


@pytest.fixture(autouse=True)
def _restore_logging():
    """Local mode sets up file logging for the process; put the root logger back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    result: Result


def invoke(*args: str, input: str | None = None) -> Outcome:
    """Run `preclinical ARGS…` in this thread; an unexpected exception fails the test with its traceback."""
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, result)


async def invoke_async(*args: str, input: str | None = None) -> Outcome:
    """Run the CLI in a worker thread, so the server on this test's loop can answer it."""
    return await asyncio.to_thread(invoke, *args, input=input)


@pytest.fixture
async def api(runtime):
    """A real API server on a free loopback port over the test runtime; yields `["--url", URL]`."""
    async with serve(runtime, "127.0.0.1", 0) as site:
        yield ["--url", f"http://127.0.0.1:{site.port}"]


@pytest.fixture
def local(tmp_path):
    """Root options for local mode on a data dir of this test's own."""
    return ["--local", "--data-dir", str(tmp_path / "local-data")]

"""Where commands send their requests: the server at the API URL, or this process's own API on the local data dir.

The URL and key follow the published CLI's precedence: `--url` / `--api-key`, then `PRECLINICAL_API_URL` /
`PRECLINICAL_API_KEY`, then `api_url` / `api_key` in `~/.preclinical/config.toml`, then
`http://localhost:3000`. Local mode is used with `--local`, or automatically when nothing answers at the
default URL; an API URL that was configured (flag, environment or file) but does not answer is an error.
In local mode the runtime opens on the data dir and serves the same API on an ephemeral loopback port
inside this process, so both modes run the very same handlers and print the very same JSON.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import click

from preclinical.cli.client import ApiClient, CommandError
from preclinical.cli.exit_codes import USAGE

DEFAULT_API_URL = "http://localhost:3000"
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ConnectionOptions:
    """The root options that say where commands go (kept on the click context)."""

    url: str | None = None  # --url or PRECLINICAL_API_URL
    api_key: str | None = None  # --api-key or PRECLINICAL_API_KEY
    local: bool = False
    data_dir: str | None = None


@dataclass(frozen=True)
class Target:
    url: str
    api_key: str | None
    configured: bool  # given by a flag, the environment or the config file (not the built-in default)


def client_config_path() -> Path:
    """The published CLI's own config file, read for `api_url` and `api_key`."""
    return Path(os.path.expanduser("~")) / ".preclinical" / "config.toml"


def read_client_config() -> dict[str, object]:
    path = client_config_path()
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise CommandError(f"{path}: not valid TOML ({exc})", USAGE) from None


def resolve_target(options: ConnectionOptions) -> Target:
    file = read_client_config() if not (options.url and options.api_key) else {}
    url = options.url or file.get("api_url")
    key = options.api_key or file.get("api_key")
    return Target(str(url or DEFAULT_API_URL).rstrip("/"), str(key) if key else None, configured=bool(url))


async def _answers(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether anything listens at `url` (any HTTP answer counts; only a refused connection does not)."""
    try:
        async with session.get(url + "/health", timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT_S)):
            return True
    except aiohttp.ClientConnectorError:
        return False
    except (aiohttp.ClientError, TimeoutError):
        return True  # something is there; the command's own request will say what is wrong


@asynccontextmanager
async def open_client(options: ConnectionOptions, *, resume_runs: bool = False) -> AsyncIterator[ApiClient]:
    """A client of the API the options point at; `resume_runs` lets local mode pick up unfinished runs."""
    target = None if options.local else resolve_target(options)
    headers = {"Authorization": f"Bearer {target.api_key}"} if target and target.api_key else None
    async with aiohttp.ClientSession(headers=headers, read_bufsize=2**20) as session:
        if target is not None and (target.configured or await _answers(session, target.url)):
            yield ApiClient(session, target.url)
        else:
            async with _local_api(options, announce_from=target.url if target else None,
                                  resume_runs=resume_runs) as (url, runtime):
                yield ApiClient(session, url, runtime=runtime)


@asynccontextmanager
async def _local_api(options: ConnectionOptions, *, announce_from: str | None,
                     resume_runs: bool) -> AsyncIterator[tuple[str, object]]:
    from preclinical.config import load_settings
    from preclinical.errors import InvalidInput
    from preclinical.logs import setup_logging
    from preclinical.runtime import open_runtime
    from preclinical.server.app import serve

    try:
        settings = load_settings(data_dir=options.data_dir)
    except InvalidInput as exc:
        raise CommandError(exc.message, USAGE) from None
    if announce_from:
        click.echo(f"No server at {announce_from}; working on the local data dir {settings.data_dir}", err=True)
    setup_logging(settings, to_stderr=False)
    async with open_runtime(settings, recover=resume_runs) as runtime, serve(runtime, "127.0.0.1", 0) as site:
        yield f"http://127.0.0.1:{site.port}", runtime

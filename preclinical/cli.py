"""The `preclinical` command: the TUI with the API beside it (default), `serve` headless, and helpers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import Any

import click

from preclinical import __version__
from preclinical.config import Settings, load_settings
from preclinical.errors import InvalidInput


def _settings(host: str | None = None, port: int | None = None, data_dir: str | None = None) -> Settings:
    try:
        return load_settings(host=host, port=port, data_dir=data_dir)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="preclinical")
@click.option("--host", default=None, help="Address for the API (default 127.0.0.1, or PRECLINICAL_HOST).")
@click.option("--port", type=int, default=None, help="Port for the API (default 3000, or PRECLINICAL_PORT).")
@click.option("--data-dir", default=None, help="Data directory (default: the user data dir, or PRECLINICAL_HOME).")
@click.pass_context
def cli(ctx: click.Context, host: str | None, port: int | None, data_dir: str | None) -> None:
    """Test healthcare AI agents with simulated patients and clinical rubrics.

    With no command, opens the terminal interface and serves the API on 127.0.0.1:3000.
    """
    if ctx.invoked_subcommand is None:
        settings = _settings(host, port, data_dir)
        sys.exit(asyncio.run(_run(settings, headless=False)))


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 3000).")
@click.option("--data-dir", default=None, help="Data directory (default: the user data dir).")
def serve(host: str | None, port: int | None, data_dir: str | None) -> None:
    """Serve the REST + SSE API without the terminal interface (Ctrl+C or SIGTERM stops it)."""
    settings = _settings(host, port, data_dir)
    sys.exit(asyncio.run(_run(settings, headless=True)))


@cli.command()
@click.option("--data-dir", default=None, help="Data directory to report.")
def paths(data_dir: str | None) -> None:
    """Show where data, configuration and logs live."""
    s = _settings(data_dir=data_dir)
    click.echo(f"data      {s.data_dir}")
    click.echo(f"database  {s.database_path}")
    click.echo(f"config    {s.config_file}{'' if s.config_file.exists() else '  (not created)'}")
    click.echo(f"logs      {s.log_file}")


async def _run(settings: Settings, *, headless: bool) -> int:
    from preclinical.logs import setup_logging
    from preclinical.runtime import open_runtime
    from preclinical.server.app import serve as serve_api

    setup_logging(settings, to_stderr=headless)
    async with open_runtime(settings) as rt, contextlib.AsyncExitStack() as stack:
        api_url: str | None = None
        api_error: str | None = None
        try:
            site = await stack.enter_async_context(serve_api(rt, settings.host, settings.port))
            api_url = f"http://{settings.host}:{site.port}"
        except (OSError, PermissionError) as exc:
            api_error = _bind_error(settings, exc)
            if headless:
                click.echo(f"Error: {api_error}", err=True)
                return 2
        if headless:
            return await _wait_for_signal(rt, api_url or "")
        from preclinical.tui.app import PreclinicalApp

        app = PreclinicalApp(rt, api_url=api_url, api_error=api_error)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, app.exit)
        await app.run_async()
        return 0


def _bind_error(settings: Settings, exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return str(exc)
    return f"could not listen on {settings.host}:{settings.port} ({exc.strerror or exc}); is another Preclinical running?"


async def _wait_for_signal(rt: Any, api_url: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    engine = "offline engine" if not rt.settings.model_configured else f"models {rt.settings.tester_model}/{rt.settings.grader_model}"
    click.echo(f"Preclinical {__version__} API on {api_url} ({engine}); data in {rt.settings.data_dir}. Ctrl+C stops.", err=True)
    await stop.wait()
    click.echo("Stopping…", err=True)
    return 0


def main() -> None:
    cli()

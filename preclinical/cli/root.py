"""The root `preclinical` group: bare = TUI + API, `serve`, `paths`, and the client commands."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import click
from click.core import ParameterSource

from preclinical import __version__
from preclinical.cli.commands import agents, health, results, runs, scenarios
from preclinical.cli.connection import ConnectionOptions
from preclinical.cli.exit_codes import USAGE
from preclinical.config import Settings, load_settings
from preclinical.errors import InvalidInput
from preclinical.loop import run_loop


@contextlib.contextmanager
def _usage_exit_code() -> Iterator[None]:
    try:
        yield
    except click.UsageError as exc:
        exc.exit_code = USAGE
        raise


class RootGroup(click.Group):
    """Usage errors exit with 64 (EX_USAGE): click's own 2 is this CLI's "no verdict"."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _usage_exit_code():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_exit_code():
            return super().invoke(ctx)


def _settings(host: str | None = None, port: int | None = None, data_dir: str | None = None) -> Settings:
    try:
        return load_settings(host=host, port=port, data_dir=data_dir)
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None


def _launch(settings: Settings, *, headless: bool, worker: bool = True) -> None:
    """Run the app; a store that cannot be opened (e.g. an unreachable PostgreSQL) is an error line, not a traceback."""
    from preclinical.cli.launch import run_app

    try:
        code = run_loop(run_app(settings, headless=headless, worker=worker), fast=headless)  # the TUI: asyncio's loop
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    sys.exit(code)


@click.group(cls=RootGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="preclinical", message="%(prog)s %(version)s")
@click.option("--url", envvar="PRECLINICAL_API_URL", metavar="URL",
              help="API of a running Preclinical for the client commands (or PRECLINICAL_API_URL, or api_url in "
                   "~/.preclinical/config.toml; default http://localhost:3000).")
@click.option("--api-key", envvar="PRECLINICAL_API_KEY", metavar="KEY",
              help="Sent as Authorization: Bearer (or PRECLINICAL_API_KEY, or api_key in ~/.preclinical/config.toml).")
@click.option("--local", is_flag=True,
              help="Run the client commands in this process on the local data dir, without a server.")
@click.option("--host", default=None, help="Address for the API (default 127.0.0.1, or PRECLINICAL_HOST).")
@click.option("--port", type=int, default=None, help="Port for the API (default 3000, or PRECLINICAL_PORT).")
@click.option("--data-dir", default=None, help="Data directory (default: the user data dir, or PRECLINICAL_HOME).")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, local: bool, host: str | None, port: int | None,
        data_dir: str | None) -> None:
    """Test healthcare AI agents with simulated patients and clinical rubrics.

    With no command, opens the terminal interface and serves the API on 127.0.0.1:3000. The other
    commands talk to that API (see --url), or work on the local data dir when no server is running.

    Exit codes: 0 success (every scenario passed, or the pass rate met --fail-under); 1 scenarios
    failed, or the server refused a request; 2 no verdict (server unreachable, scenario errors, run
    canceled); 64 usage error; 130 interrupted.
    """
    if local and url and ctx.get_parameter_source("url") == ParameterSource.COMMANDLINE:
        raise click.UsageError("--local and --url exclude each other: --local works without a server.")
    ctx.obj = ConnectionOptions(url=None if local else url, api_key=api_key, local=local, data_dir=data_dir)
    if ctx.invoked_subcommand is None:
        _launch(_settings(host, port, data_dir), headless=False)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default 3000).")
@click.option("--data-dir", default=None, help="Data directory (default: the user data dir).")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="With PostgreSQL (PRECLINICAL_DATABASE_URL): also run scenario runs here, or only serve the API "
                   "and leave the work to `preclinical worker` processes.")
def serve(host: str | None, port: int | None, data_dir: str | None, worker: bool) -> None:
    """Serve the REST + SSE API without the terminal interface (Ctrl+C or SIGTERM stops it)."""
    settings = _settings(host, port, data_dir)
    if not worker and not settings.database_url:
        raise click.UsageError("--no-worker needs a shared PostgreSQL store (PRECLINICAL_DATABASE_URL): "
                               "with the local SQLite file this process is the only one that can run work.")
    _launch(settings, headless=True, worker=worker)


@cli.command()
@click.option("--concurrency", "-c", type=click.IntRange(1, 1000), default=8, show_default=True,
              help="Scenario runs this worker runs at once.")
@click.option("--lease", type=click.FloatRange(1, 3600), default=None, metavar="SECONDS",
              help="How long a claim holds without a heartbeat (default 30): a stopped worker's scenario runs "
                   "are resumed by another after this.")
def worker(concurrency: int, lease: float | None) -> None:
    """Claim and run scenario runs from the team's PostgreSQL store (PRECLINICAL_DATABASE_URL) until stopped."""
    settings = _settings()
    if not settings.database_url:
        raise click.UsageError("preclinical worker needs a shared PostgreSQL store: set PRECLINICAL_DATABASE_URL "
                               "(or database_url in the config file) to postgresql://user:password@host/db.")
    from preclinical.engine.dispatch import run_worker
    from preclinical.logs import setup_logging

    setup_logging(settings, to_stderr=True)
    try:
        code = run_loop(run_worker(settings, concurrency=concurrency, lease_s=lease))
    except InvalidInput as exc:
        raise click.ClickException(exc.message) from None
    sys.exit(code)


@cli.command()
@click.option("--data-dir", default=None, help="Data directory to report.")
def paths(data_dir: str | None) -> None:
    """Show where data, configuration and logs live."""
    s = _settings(data_dir=data_dir)
    click.echo(f"data      {s.data_dir}")
    click.echo(f"database  {s.database_label}")
    click.echo(f"config    {s.config_file}{'' if s.config_file.exists() else '  (not created)'}")
    click.echo(f"logs      {s.log_file}")


cli.add_command(health.health)
cli.add_command(runs.run)
cli.add_command(runs.runs)
cli.add_command(results.results)
cli.add_command(agents.agents)
cli.add_command(scenarios.scenarios)


def main() -> None:
    cli(prog_name="preclinical")

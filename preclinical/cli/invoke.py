"""Running one client command: a fresh event loop, the client the root options ask for, one-line errors, exit codes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn

import click

from preclinical.cli.client import ApiClient, CommandError
from preclinical.cli.connection import ConnectionOptions, open_client
from preclinical.cli.exit_codes import FAILED, INTERRUPTED, NO_VERDICT, OK
from preclinical.loop import run_loop

Action = Callable[[ApiClient], Awaitable[int | None]]


def report_error(message: str) -> None:
    click.echo(click.style("Error:", fg="red") + f" {message}", err=True)


def warn(message: str) -> None:
    click.echo(click.style("Warning:", fg="yellow") + f" {message}", err=True)


async def _main(options: ConnectionOptions, action: Action, resume_runs: bool) -> int | None:
    async with open_client(options, resume_runs=resume_runs) as api:
        return await action(api)


def run_async(action: Action, *, verdict: bool = False, resume_runs: bool = False) -> NoReturn:
    """Run `action(api)` and exit with its code.

    `verdict` marks the commands that judge an agent (`run`, `runs watch`): for them a refused request
    means no verdict (exit 2) rather than a plain failure (exit 1).
    """
    ctx = click.get_current_context()
    options = ctx.find_object(ConnectionOptions) or ConnectionOptions()
    try:
        code = run_loop(_main(options, action, resume_runs))
    except CommandError as exc:
        report_error(exc.message)
        code = NO_VERDICT if verdict and exc.exit_code == FAILED else exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        code = INTERRUPTED
    ctx.exit(code or OK)

"""Starting the app itself: the TUI with the API beside it, or the API alone (`preclinical serve`)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import click

from preclinical import __version__
from preclinical.config import Settings


async def run_app(settings: Settings, *, headless: bool, worker: bool = True) -> int:
    from preclinical.logs import setup_logging
    from preclinical.runtime import open_runtime
    from preclinical.server.app import serve as serve_api

    setup_logging(settings, to_stderr=headless)
    team = headless and bool(settings.database_url)  # a team server hands runs to the queue of workers
    async with open_runtime(settings, recover=not team) as rt, contextlib.AsyncExitStack() as stack:
        if team:
            from preclinical.engine.dispatch import serve_queue

            await stack.enter_async_context(serve_queue(rt.executor, settings.database_url, worker=worker,
                                                        concurrency=settings.global_concurrency))
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
    click.echo(f"Preclinical {__version__} API on {api_url} ({engine}); data in {rt.settings.database_label}. Ctrl+C stops.", err=True)
    await stop.wait()
    click.echo("Stopping…", err=True)
    return 0

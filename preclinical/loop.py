"""The event loop of headless processes: uvloop where it is installed, asyncio's own loop otherwise.

`preclinical serve`, `preclinical worker` and local CLI runs (and the benchmarks) spend much of a
turn in the event loop and aiohttp's plumbing; uvloop does that work in C. The Textual TUI keeps
asyncio's default loop. Nothing is imported or started at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory(fast: bool = True) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when `fast` and uvloop is importable (it is not on Windows), else None (asyncio's)."""
    if not fast:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_loop(main: Coroutine[Any, Any, T], *, fast: bool = True) -> T:
    """`asyncio.run(main)` on uvloop when `fast` (and available), on asyncio's default loop otherwise."""
    with asyncio.Runner(loop_factory=loop_factory(fast)) as runner:
        return runner.run(main)

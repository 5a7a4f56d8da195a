"""Helpers for driving the TUI in Pilot tests: wait for a condition, read what is on screen, collect notifications."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Static

from preclinical.tui.widgets.text_line import TextLine


async def wait_until(pilot: Pilot, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    """Let the app run until `condition()` is true (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


def _holds(condition: Callable[[], Any]) -> bool:
    try:
        return bool(condition())
    except NoMatches:  # the screen is still being composed
        return False


def text_of(widget: Any) -> str:
    """The plain text a Static, a Label or a TextLine shows (Rich tables rendered at the widget's width)."""
    if isinstance(widget, TextLine):
        return widget.text.plain
    content = widget.content if isinstance(widget, Static) else widget.render()
    if isinstance(content, str):
        return content
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, Content):
        return content.plain
    console = Console(width=max(widget.size.width, 40), file=io.StringIO(), record=True, color_system=None)
    console.print(content)
    return console.export_text()


class Notifications:
    """A message hook that keeps every notification the app raised."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.items.append(message.notification)

    @property
    def texts(self) -> list[str]:
        return [f"{n.title}: {n.message}" if n.title else n.message for n in self.items]

    def any(self, needle: str) -> bool:
        return any(needle in text for text in self.texts)

"""Messages the TUI passes around (kept free of widgets so screens can share them)."""

from __future__ import annotations

from textual.message import Message

from preclinical.bus import Event


class BusEvent(Message):
    """An event from the core's bus, delivered to the app and forwarded to the active screen."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event

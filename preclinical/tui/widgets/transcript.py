"""The conversation of a scenario run, turn by turn, growing live; cited turns can be highlighted."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static


def group_turns(transcript: list[dict[str, Any]]) -> list[tuple[int, list[dict[str, Any]]]]:
    """Entries grouped by turn number, in order of first appearance."""
    turns: dict[int, list[dict[str, Any]]] = {}
    for entry in transcript:
        if isinstance(entry, dict):
            turn = entry.get("turn") if isinstance(entry.get("turn"), int) else 0
            turns.setdefault(turn, []).append(entry)
    return list(turns.items())


def _speaker(entry: dict[str, Any]) -> tuple[str, str]:
    role = entry.get("role")
    if role == "attacker":
        return "Patient", "-patient"
    if role == "target":
        latency = entry.get("latency_ms")
        return ("Agent" if latency is None else f"Agent · {latency} ms"), "-agent"
    return "Infrastructure note", "-system"


class TurnView(Vertical):
    """One turn: its heading, the patient's message and the agent's reply."""

    def __init__(self, turn: int, entries: list[dict[str, Any]], max_turns: int | None) -> None:
        super().__init__(classes="turn")
        self.turn = turn
        self.entries = entries
        self.max_turns = max_turns

    def compose(self):
        heading = f"Turn {self.turn} of {self.max_turns}" if self.max_turns else f"Turn {self.turn}"
        yield Static(heading, classes="turn-heading")
        for entry in self.entries:
            who, kind = _speaker(entry)
            body = Text()
            body.append(who + "\n", style="bold")
            body.append(str(entry.get("content") or "(no reply)"))
            yield Static(body, classes=f"message {kind}")


class Transcript(VerticalScroll):
    """`show(transcript, max_turns)` builds it; `add_turn(...)` appends one live; `highlight(turns)` marks turns."""

    DEFAULT_CSS = """
    Transcript { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.turns: list[int] = []
        self.max_turns: int | None = None

    async def show(self, transcript: list[dict[str, Any]], max_turns: int | None, *, waiting: bool = False) -> None:
        await self.remove_children()
        self.max_turns = max_turns
        grouped = group_turns(transcript)
        self.turns = [turn for turn, _ in grouped]
        views = [TurnView(turn, entries, max_turns) for turn, entries in grouped]
        if not views:
            note = "Waiting for the first message…" if waiting else "No conversation was recorded."
            views = [Static(note, classes="transcript-empty")]
        await self.mount_all(views)

    def add_turn(self, turn: int, entries: list[dict[str, Any]], max_turns: int | None) -> None:
        """Append a turn that arrived live (ignored if already shown); keeps following the end."""
        if turn in self.turns:
            return
        following = self.scroll_y >= self.max_scroll_y - 1
        self.max_turns = max_turns or self.max_turns
        if not self.turns:
            self.remove_children()
        self.turns.append(turn)
        self.mount(TurnView(turn, entries, self.max_turns))
        if following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def highlight(self, turns: set[int]) -> None:
        """Mark the given turns (evidence, the extracted disposition) and bring the first into view."""
        first = None
        for view in self.query(TurnView):
            cited = view.turn in turns
            view.set_class(cited, "-cited")
            if cited and first is None:
                first = view
        if first is not None:
            # The turns may have been mounted this frame; scroll once they have a place on screen.
            self.call_after_refresh(self.scroll_to_widget, first, animate=False, top=True)

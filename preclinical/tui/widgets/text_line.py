"""One line of text that repaints without a layout pass (for lines that change many times a second)."""

from __future__ import annotations

from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.widget import Widget


class TextLine(Widget):
    """Like a one-line Static, but `show()` only repaints: the line's size never changes."""

    DEFAULT_CSS = """
    TextLine { height: 1; width: 1fr; }
    """

    def __init__(self, text: str | Text = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = Text(text) if isinstance(text, str) else text

    def show(self, text: str | Text) -> None:
        text = Text(text) if isinstance(text, str) else text
        if text != self.text:
            self.text = text
            self.refresh()

    def render(self) -> Text:
        return self.text


class ChoiceLine(TextLine, can_focus=False):
    """A row of choices with counts ("All 60  Pass 40 …"); the chosen one is highlighted; clicks choose."""

    class Chosen(Message):
        def __init__(self, line: ChoiceLine, choice: str) -> None:
            super().__init__()
            self.line = line
            self.choice = choice

        @property
        def control(self) -> ChoiceLine:
            return self.line

    def __init__(self, choices: tuple[str, ...], *, prefix: str = "", id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = choices
        self.prefix = prefix
        self.chosen = choices[0]
        self.counts: dict[str, int] = {}
        self._spans: list[tuple[int, int, str]] = []
        self._draw()

    def set_state(self, chosen: str | None = None, counts: dict[str, int] | None = None) -> None:
        if chosen is not None:
            self.chosen = chosen
        if counts is not None:
            self.counts = dict(counts)
        self._draw()

    def _draw(self) -> None:
        text = Text(self.prefix, style="dim")
        self._spans = []
        for choice in self.choices:
            label = f" {choice} {self.counts[choice]} " if choice in self.counts else f" {choice} "
            start = text.cell_len
            empty = self.counts.get(choice) == 0
            text.append(label, style="reverse bold" if choice == self.chosen else "dim" if empty else "")
            self._spans.append((start, text.cell_len, choice))
        self.show(text)

    def on_click(self, event: Click) -> None:
        for start, end, choice in self._spans:
            if start <= event.x < end:
                self.post_message(self.Chosen(self, choice))
                return

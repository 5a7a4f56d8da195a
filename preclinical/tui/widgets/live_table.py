"""A table for live data: updating a row repaints that row only.

Textual's DataTable renders every visible cell again after any `update_cell` (its cell cache is keyed
on a table-wide update counter): with a 60-row run changing many times a second that took tens of
milliseconds a frame. This table caches one rendered strip per row and version, so a status change
costs one row's rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int = 0  # 0 = share what the fixed columns leave
    justify: str = "left"


class LiveTable(ScrollView, can_focus=True):
    """Rows keyed by id; `set_rows` replaces them all, `update_row` changes one (and repaints only it)."""

    DEFAULT_CSS = """
    LiveTable {
        height: 1fr;
        background: $surface;
        scrollbar-gutter: stable;
    }
    LiveTable > .live-table--header {
        text-style: bold;
        color: $text-accent;
        background: $panel;
    }
    LiveTable > .live-table--zebra {
        background: $surface-lighten-1;
    }
    LiveTable > .live-table--cursor {
        background: $block-cursor-blurred-background;
    }
    LiveTable:focus > .live-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header", "live-table--zebra", "live-table--cursor",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "select", "Open", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)

    class RowHighlighted(Message):
        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LiveTable:
            return self.table

    class RowSelected(Message):
        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns: list[Column] = []
        self.keys: list[str] = []
        self._rows: dict[str, tuple[Cell, ...]] = {}
        self._versions: dict[str, int] = {}
        self._index: dict[str, int] = {}
        self._cache: dict[tuple[Any, ...], Strip] = {}
        self._widths: list[int] = []

    # ------------------------------------------------------------------ data
    @property
    def row_count(self) -> int:
        return len(self.keys)

    def set_columns(self, columns: list[Column]) -> None:
        self.columns = list(columns)
        self._layout_columns()

    def set_rows(self, rows: list[tuple[str, tuple[Cell, ...]]], *, cursor_key: str | None = None) -> None:
        self.keys = [key for key, _ in rows]
        self._rows = dict(rows)
        self._index = {key: i for i, key in enumerate(self.keys)}
        self._versions = {key: self._versions.get(key, 0) + 1 for key in self.keys}
        self._cache.clear()
        self.virtual_size = Size(self.size.width, len(self.keys) + 1)
        target = self._index.get(cursor_key, min(self.cursor_row, max(len(self.keys) - 1, 0))) if cursor_key \
            else min(self.cursor_row, max(len(self.keys) - 1, 0))
        self.cursor_row = target
        self.refresh()

    def update_row(self, key: str, cells: tuple[Cell, ...]) -> None:
        if key not in self._index:
            return
        self._rows[key] = cells
        self._versions[key] += 1
        self.refresh_line(self._index[key] + 1)

    def get_row(self, key: str) -> tuple[Cell, ...]:
        return self._rows[key]

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if 0 <= self.cursor_row < len(self.keys) else None

    # ------------------------------------------------------------------ cursor
    def watch_cursor_row(self, old: int, new: int) -> None:
        if not self.keys:
            return
        clamped = max(0, min(new, len(self.keys) - 1))
        if clamped != new:
            self.cursor_row = clamped
            return
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        visible = max(self.scrollable_content_region.height - 1, 1)
        if new < self.scroll_offset.y:
            self.scroll_to(y=new, animate=False)
        elif new >= self.scroll_offset.y + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.post_message(self.RowHighlighted(self, self.keys[new]))

    def move_cursor(self, row: int) -> None:
        self.cursor_row = row

    def action_cursor(self, delta: int) -> None:
        self.cursor_row = self.cursor_row + delta

    def action_page(self, direction: int) -> None:
        self.cursor_row = self.cursor_row + direction * max(self.scrollable_content_region.height - 2, 1)

    def action_edge(self, end: int) -> None:
        self.cursor_row = len(self.keys) - 1 if end else 0

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    async def _on_click(self, event: Any) -> None:
        row = event.y - 1 + self.scroll_offset.y
        if event.y >= 1 and 0 <= row < len(self.keys):
            self.focus()
            if row == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = row

    # ------------------------------------------------------------------ layout and rendering
    def on_resize(self) -> None:
        self._layout_columns()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_focus(self) -> None:
        self.refresh_line(self.cursor_row + 1)

    def on_blur(self) -> None:
        self.refresh_line(self.cursor_row + 1)

    def _layout_columns(self) -> None:
        width = self.scrollable_content_region.width
        fixed = sum(c.width + 2 for c in self.columns if c.width)
        flexible = [c for c in self.columns if not c.width]
        share = max((width - fixed) // len(flexible) - 2, 4) if flexible else 0
        self._widths = [c.width or share for c in self.columns]
        self._cache.clear()
        self.virtual_size = Size(width, len(self.keys) + 1)
        self.refresh()

    def _line(self, cells: tuple[Cell, ...] | list[str], style: Style) -> Strip:
        line = Text(no_wrap=True, overflow="ellipsis")
        for column, width, cell in zip(self.columns, self._widths, cells, strict=False):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.truncate(width, overflow="ellipsis", pad=False)
            if column.justify == "right":
                text.pad_left(width - text.cell_len)
            else:
                text.pad_right(width - text.cell_len)
            line.append(" ")
            line.append_text(text)
            line.append(" ")
        width = self.scrollable_content_region.width
        line.truncate(width, pad=True)
        line.stylize_before(style)
        segments = [Segment(s.text, s.style) for s in line.render(self.app.console)]
        return Strip(segments, width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            key = ("header", width, self.app.theme)
            if key not in self._cache:
                style = base + self.get_component_rich_style("live-table--header")
                self._cache[key] = self._line([c.label for c in self.columns], style)
            return self._cache[key]
        index = self.scroll_offset.y + y - 1
        if not 0 <= index < len(self.keys):
            return Strip.blank(width, base)
        row_key = self.keys[index]
        is_cursor = index == self.cursor_row
        zebra = index % 2 == 1
        key = (row_key, self._versions[row_key], width, is_cursor, is_cursor and self.has_focus, zebra, self.app.theme)
        strip = self._cache.get(key)
        if strip is None:
            style = base
            if zebra:
                style += self.get_component_rich_style("live-table--zebra")
            if is_cursor:
                style += self.get_component_rich_style("live-table--cursor")
            strip = self._cache[key] = self._line(self._rows[row_key], style)
            if len(self._cache) > 4 * (len(self.keys) + 10):
                self._cache = {key: strip}
        return strip

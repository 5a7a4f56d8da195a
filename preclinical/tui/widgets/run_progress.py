"""A one-line progress bar split into passed / failed / error / in-progress / pending segments."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from preclinical.domain.run import ScenarioRunStatus as S

ACTIVE = "active"  # the bar's bucket for scenario runs in flight (running or grading)
SEGMENTS = (  # (key, glyph, style)
    (S.PASSED, "█", "green"),
    (S.FAILED, "█", "red"),
    (S.ERROR, "█", "dark_orange"),
    (S.CANCELED, "▒", "grey50"),
    (ACTIVE, "▓", "cyan"),  # running or grading
    (S.PENDING, "░", "grey50"),
)


def segment_widths(counts: dict[str, int], width: int) -> list[int]:
    """Cells per segment, summing to `width` (largest remainder, so no segment that has items vanishes)."""
    total = sum(counts.get(key, 0) for key, _, _ in SEGMENTS)
    if total == 0 or width <= 0:
        return [0] * (len(SEGMENTS) - 1) + [max(width, 0)]
    exact = [counts.get(key, 0) * width / total for key, _, _ in SEGMENTS]
    cells = [int(x) for x in exact]
    for i in range(len(cells)):  # a non-empty segment gets at least one cell when there is room
        if exact[i] > 0 and cells[i] == 0 and sum(cells) < width:
            cells[i] = 1
    order = sorted(range(len(cells)), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    for i in order:
        if sum(cells) >= width:
            break
        if exact[i] > 0:
            cells[i] += 1
    while sum(cells) > width:  # the minimum-one rule can overshoot on very narrow bars
        biggest = max(range(len(cells)), key=lambda i: cells[i])
        cells[biggest] -= 1
    return cells


class RunProgress(Widget):
    """Call `show(counts)` with counts for passed, failed, error, canceled, active and pending."""

    DEFAULT_CSS = """
    RunProgress { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.counts: dict[str, int] = {}

    def show(self, counts: dict[str, int]) -> None:
        if counts != self.counts:
            self.counts = dict(counts)
            self.refresh()

    def render(self) -> Text:
        text = Text()
        for (_, glyph, style), cells in zip(SEGMENTS, segment_widths(self.counts, self.size.width), strict=True):
            if cells:
                text.append(glyph * cells, style=style)
        return text

"""Inline SVG charts for the HTML report: intervals, the triage confusion matrix, stacked and simple bars.

Pure string building; every label goes through `esc`. Sizes are in user units with a viewBox, so
the charts scale with the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from preclinical.domain.stats import NO_LEVEL
from preclinical.domain.triage import EMERGENCY, LEVELS, RANK

GREEN, RED, AMBER, GREY, BLUE, INK, MUTED, RULE = (
    "#2f855a", "#c53030", "#d69e2e", "#a0aec0", "#2b6cb0", "#1a202c", "#718096", "#e2e8f0")
DECISION_COLOURS = {"MET": GREEN, "PARTIALLY MET": AMBER, "NOT MET": RED, "UNGRADED": GREY}
SHORT = {EMERGENCY: "Emergency", "Clinician": "Clinician", "Home care": "Home care", NO_LEVEL: "No answer"}


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _text(x: float, y: float, text: Any, *, anchor: str = "start", size: int = 12, fill: str = INK,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
            f'font-weight="{weight}">{esc(text)}</text>')


def interval_chart(items: Sequence[dict[str, Any]], *, label: str = "Rates with 95% intervals") -> str:
    """Horizontal bars on a 0–100 % scale, each with its interval as a whisker.

    An item: label, value (percent or None), ci ([low, high] percent or None), note, colour.
    """
    left, width, row = 150, 300, 46
    height = 30 + row * len(items)
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = left + width * tick / 100
        parts.append(f'<line x1="{x}" y1="14" x2="{x}" y2="{height - 6}" stroke="{RULE}"/>')
        parts.append(_text(x, 10, f"{tick}%", anchor="middle", size=10, fill=MUTED))
    for i, item in enumerate(items):
        y = 24 + i * row
        parts.append(_text(0, y + 15, item["label"], size=13, weight="600"))
        if item.get("note"):
            parts.append(_text(0, y + 31, item["note"], size=11, fill=MUTED))
        value = item.get("value")
        if value is None:
            parts.append(_text(left + 6, y + 18, "no data", size=11, fill=MUTED))
            continue
        colour = item.get("colour", BLUE)
        parts.append(f'<rect x="{left}" y="{y + 6}" width="{width * value / 100:.1f}" height="18" rx="3" '
                     f'fill="{colour}" fill-opacity="0.85"/>')
        if item.get("ci"):
            low, high = (left + width * v / 100 for v in item["ci"])
            mid = y + 15
            parts.append(f'<g stroke="{INK}" stroke-width="1.5"><line x1="{low:.1f}" y1="{mid}" x2="{high:.1f}" '
                         f'y2="{mid}"/><line x1="{low:.1f}" y1="{mid - 7}" x2="{low:.1f}" y2="{mid + 7}"/>'
                         f'<line x1="{high:.1f}" y1="{mid - 7}" x2="{high:.1f}" y2="{mid + 7}"/></g>')
        parts.append(_text(left + width + 8, y + 20, f"{value:.1f}%", size=13, weight="600"))
    return _svg(left + width + 70, height, "".join(parts), label)


def _cell_colour(gold: str, predicted: str) -> str:
    if predicted == gold:
        return GREEN
    if predicted == NO_LEVEL or RANK[predicted] < RANK[gold]:
        return RED  # under-triage (or no answer): the dangerous direction
    return AMBER


def confusion_matrix(matrix: dict[str, dict[str, int]], *, acceptable: dict[str, dict[str, int]] | None = None,
                     label: str = "Triage confusion matrix") -> str:
    """Gold level (rows, most urgent first) against the agent's disposition (columns), counts and row shares.

    Green is correct, red under-triage or no answer, amber over-triage; the shade grows with the share.
    `acceptable` (same shape) counts the answers the cases accept though they are not the gold level: a cell
    says how many of its answers those are, and is green when all of them are.
    """
    golds = list(reversed(LEVELS))
    predicted = [*reversed(LEVELS), NO_LEVEL]
    left, top, cw, ch = 120, 54, 104, 62
    parts = [_text(left + cw * len(predicted) / 2, 14, "Agent's disposition", anchor="middle", size=12, fill=MUTED,
                   weight="600"),
             f'<text x="14" y="{top + ch * 1.5:.0f}" font-size="12" fill="{MUTED}" font-weight="600" '
             f'text-anchor="middle" transform="rotate(-90 14 {top + ch * 1.5:.0f})">Gold standard</text>']
    for j, level in enumerate(predicted):
        parts.append(_text(left + cw * j + cw / 2, top - 10, SHORT[level], anchor="middle", size=12, weight="600"))
    for i, gold in enumerate(golds):
        counts = matrix.get(gold, {})
        total = sum(counts.values())
        parts.append(_text(left - 10, top + ch * i + ch / 2 + 4, SHORT[gold], anchor="end", size=12, weight="600"))
        for j, level in enumerate(predicted):
            n = counts.get(level, 0)
            accepted = (acceptable or {}).get(gold, {}).get(level, 0) if level != gold else 0
            share = n / total if total else 0
            x, y = left + cw * j, top + ch * i
            opacity = 0.08 + 0.8 * share if n else 0.0
            parts.append(f'<rect x="{x + 2}" y="{y + 2}" width="{cw - 4}" height="{ch - 4}" rx="5" fill="#f7fafc" '
                         f'stroke="{RULE}"/>')
            if n:
                colour = GREEN if accepted == n else _cell_colour(gold, level)
                parts.append(f'<rect x="{x + 2}" y="{y + 2}" width="{cw - 4}" height="{ch - 4}" rx="5" '
                             f'fill="{colour}" fill-opacity="{opacity:.2f}"/>')
            dark = share > 0.55
            if accepted:
                parts.append(_text(x + cw / 2, y + 15, f"{accepted} acceptable", anchor="middle", size=10,
                                   fill="#ffffff" if dark else MUTED))
            parts.append(_text(x + cw / 2, y + ch / 2 + 2, n, anchor="middle", size=18, weight="700",
                               fill="#ffffff" if dark else (INK if n else GREY)))
            if n:
                parts.append(_text(x + cw / 2, y + ch / 2 + 18, f"{share * 100:.0f}%", anchor="middle", size=10,
                                   fill="#ffffff" if dark else MUTED))
    height = top + ch * len(golds) + 30
    legend_y = height - 10
    for x, name, colour in ((left, "correct", GREEN), (left + 90, "under-triage / no answer", RED),
                            (left + 270, "over-triage", AMBER)):
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" rx="2" fill="{colour}"/>')
        parts.append(_text(x + 17, legend_y, name, size=11, fill=MUTED))
    return _svg(left + cw * len(predicted) + 6, height, "".join(parts), label)


def stacked_bars(rows: Sequence[dict[str, Any]], keys: Sequence[str], colours: dict[str, str], *,
                 label: str, value_text: str = "percent") -> str:
    """One horizontal bar per row, split into `keys` segments by count; the row's `value_text` printed at the end."""
    left, width, row = 170, 400, 34
    height = 12 + row * len(rows) + 26
    parts = []
    for i, item in enumerate(rows):
        y = 8 + i * row
        parts.append(_text(0, y + 17, item["label"], size=12, weight="600"))
        total = sum(item.get(k, 0) for k in keys)
        x = float(left)
        for key in keys:
            n = item.get(key, 0)
            if not n or not total:
                continue
            w = width * n / total
            parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="20" fill="{colours[key]}">'
                         f'<title>{esc(key)}: {n}</title></rect>')
            if w > 22:
                parts.append(_text(x + w / 2, y + 18, n, anchor="middle", size=11, fill="#ffffff", weight="600"))
            x += w
        value = item.get(value_text)
        parts.append(_text(left + width + 8, y + 18, "—" if value is None else f"{value:.0f}% of points", size=12))
    legend_y = height - 8
    for k, key in enumerate(keys):
        x = left + k * 110
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" rx="2" fill="{colours[key]}"/>')
        parts.append(_text(x + 17, legend_y, key.lower(), size=11, fill=MUTED))
    return _svg(left + width + 110, height, "".join(parts), label)


def criterion_bars(results: Sequence[dict[str, Any]], *, label: str = "Points per criterion") -> str:
    """One bar per criterion: points awarded of points possible, coloured by the decision."""
    left, width, row = 46, 360, 24
    height = 6 + row * len(results)
    parts = []
    for i, result in enumerate(results):
        y = 4 + i * row
        possible = float(result.get("points_possible") or 0)
        awarded = float(result.get("points_awarded") or 0)
        decision = result.get("decision") or "NOT MET"
        colour = DECISION_COLOURS.get(decision, RED)
        parts.append(_text(0, y + 14, f"C{(result.get('criterion_index') or 0) + 1}", size=11, weight="600",
                           fill=MUTED))
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{width}" height="14" rx="3" fill="#edf2f7"/>')
        if possible < 0 and decision != "UNGRADED":
            # A penalty ("Harm: ..."): MET means the harm happened and cost its points; NOT MET means it did not.
            colour = RED if awarded < 0 else GREEN
            text = f"penalty {awarded:g}" if awarded < 0 else "penalty avoided"
        else:
            if possible > 0 and decision != "UNGRADED":
                parts.append(f'<rect x="{left}" y="{y + 3}" width="{width * max(min(awarded / possible, 1), 0):.1f}" '
                             f'height="14" rx="3" fill="{colour}"/>')
            text = "ungraded" if decision == "UNGRADED" else f"{awarded:g}/{possible:g}"
        parts.append(_text(left + width + 8, y + 14, text, size=11, fill=colour if decision != "UNGRADED" else MUTED))
    return _svg(left + width + 70, height, "".join(parts), label)


def kappa_chart(items: Sequence[dict[str, Any]], *, label: str = "Cohen's kappa with 95% intervals") -> str:
    """Kappa per group on a −1…1 scale with its interval; items: label, kappa (or None), ci, note."""
    left, width, row = 210, 380, 30
    height = 26 + row * len(items)
    parts = []
    for tick in (-1, -0.5, 0, 0.5, 1):
        x = left + width * (tick + 1) / 2
        parts.append(f'<line x1="{x}" y1="14" x2="{x}" y2="{height - 4}" stroke="{INK if tick == 0 else RULE}" '
                     f'stroke-opacity="{0.5 if tick == 0 else 1}"/>')
        parts.append(_text(x, 10, f"{tick:g}", anchor="middle", size=10, fill=MUTED))
    for i, item in enumerate(items):
        y = 20 + i * row
        parts.append(_text(0, y + 14, item["label"], size=12, weight="600"))
        kappa = item.get("kappa")
        if kappa is None:
            parts.append(_text(left + width / 2 + 6, y + 14, item.get("note") or "undefined", size=11, fill=MUTED))
            continue
        if item.get("ci"):
            low, high = (left + width * (v + 1) / 2 for v in item["ci"])
            parts.append(f'<line x1="{low:.1f}" y1="{y + 10}" x2="{high:.1f}" y2="{y + 10}" stroke="{BLUE}" '
                         f'stroke-width="3" stroke-opacity="0.35" stroke-linecap="round"/>')
        x = left + width * (kappa + 1) / 2
        parts.append(f'<circle cx="{x:.1f}" cy="{y + 10}" r="5" fill="{BLUE}"/>')
        parts.append(_text(left + width + 8, y + 14, f"{kappa:.2f}", size=12, weight="600"))
    return _svg(left + width + 50, height, "".join(parts), label)

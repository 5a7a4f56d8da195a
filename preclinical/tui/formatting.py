"""How values read on screen: results, durations, percentages, dates, triage levels, coloured badges."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text

from preclinical.domain import errors as error_codes
from preclinical.domain.run import ScenarioRunStatus as S
from preclinical.domain.run import run_verdict
from preclinical.domain.triage import DISPLAY, compare, normalize_level

RESULT_STYLE = {
    "Pass": "bold green",
    "Fail": "bold red",
    "Error": "bold dark_orange",
    "Running": "bold cyan",
    "Grading": "bold magenta",
    "Pending": "dim",
    "Canceled": "dim italic",
}
RESULTS = ("Pass", "Fail", "Error", "Running", "Pending", "Canceled")  # the run screen's filters (besides All)
CHECK_STYLE = {"ok": "green", "warning": "yellow", "error": "red"}
DECISION_STYLE = {"MET": "green", "PARTIALLY MET": "yellow", "NOT MET": "red", "UNGRADED": "dim"}


def result_of(status: str | None, passed: bool | None = None) -> str:
    """A scenario run's result as the run table shows it."""
    return {
        S.PASSED: "Pass", S.FAILED: "Fail", S.ERROR: "Error", S.CANCELED: "Canceled", S.RUNNING: "Running",
        S.GRADING: "Grading", S.PENDING: "Pending",
    }.get(status or "", "Pass" if passed else "Fail" if passed is False else "Pending")


def filter_bucket(result: str) -> str:
    """Which run-screen filter a result belongs to (grading counts as running, as in the header's counts)."""
    return "Running" if result == "Grading" else result


def styled(text: str, style: str) -> Text:
    """A Text whose style covers only its own characters (anything appended later stays plain)."""
    out = Text()
    out.append(text, style=style)
    return out


def result_badge(result: str) -> Text:
    return styled(result, RESULT_STYLE.get(result, ""))


def error_label(code: str) -> str:
    return error_codes.label(code)


def status_line(status: str | None, passed: bool | None, error_code: str | None) -> Text:
    """The headline of a scenario run: Pass / Fail / Running / … or the error's label."""
    if status == S.ERROR:
        label = error_codes.label(error_code) if error_code else "Infrastructure Error"
        return styled(f"Error: {label}", RESULT_STYLE["Error"])
    return result_badge(result_of(status, passed))


def run_outcome(run: dict[str, Any]) -> str:
    """The run's verdict in one word: Passed / Failed / No verdict / Canceled / Running (see `run_verdict`)."""
    return run_verdict(run).headline


OUTCOME_STYLE = {"Passed": "bold green", "Failed": "bold red", "No verdict": "bold dark_orange", "Canceled": "dim",
                 "Running": "bold cyan"}


def outcome_badge(outcome: str) -> Text:
    return styled(outcome, OUTCOME_STYLE.get(outcome, ""))


def duration(ms: int | float | None) -> str:
    """850 ms → "850 ms", 4200 → "4.2s", 65000 → "1m 05s"."""
    if ms is None:
        return "—"
    ms = int(ms)
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def plural(count: int, noun: str) -> str:
    """"1 agent", "2 agents"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def ratio(part: int, whole: int) -> str:
    """"7/9 (78%)", or "—" when there is nothing to count."""
    if not whole:
        return "—"
    return f"{part}/{whole} ({part / whole * 100:.0f}%)"


def when(value: str | datetime | None) -> str:
    """An ISO timestamp (UTC) as "2026-03-01 12:00"."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.strftime("%Y-%m-%d %H:%M")


def level(value: str | None) -> str:
    """A triage level's display name ("Emergency care"), or "—"."""
    canonical = normalize_level(value or "")
    return DISPLAY[canonical] if canonical else (value or "—")


def level_short(value: str | None) -> str:
    """A triage level's short name for tables ("Emergency", "Clinician", "Home care"), or "—"."""
    return normalize_level(value or "") or (value or "—")


def triage_verdict(extracted: str | None, gold: str | None) -> Text:
    """✓ correct, ✗ under-triage / over-triage / no disposition found."""
    if not gold:
        return styled("no gold level", "dim")
    verdict = compare(extracted, gold)
    if verdict == "correct":
        return styled("✓ correct", "bold green")
    if verdict == "under":
        return styled("✗ under-triage", "bold red")
    if verdict == "over":
        return styled("✗ over-triage", "bold yellow")
    return styled("✗ no disposition found", "bold red")


def turn_progress(turn: int | None, max_turns: int | None) -> str:
    if not turn:
        return f"0/{max_turns}" if max_turns else "—"
    return f"{turn}/{max_turns}" if max_turns else str(turn)


def points(value: float | int | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def home_relative(path: Path | str) -> str:
    """A path with the home directory written as ~ (shorter, and the same on every machine)."""
    path = Path(path)
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def plain(text: Any) -> Text:
    """User-supplied text as a cell that is never read as markup."""
    return Text("" if text is None else str(text))


def one_line(text: Any, width: int = 80) -> str:
    """Text squeezed onto one line and cut to `width` characters."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def run_label(run: Any, width: int = 80) -> str:
    """A run's name, or its `run_…` id cut from the front so the distinguishing tail (time, suffix) stays."""
    get = run.get if isinstance(run, dict) else lambda key: getattr(run, key, None)
    if get("name"):
        return one_line(get("name"), width)
    ref = str(get("test_run_id") or get("id") or "")
    return ref if len(ref) <= width else "…" + ref[len(ref) - width + 1:]


SPARK_BLOCKS = "▁▂▃▄▅▆▇█"


def rate_sparkline(rates: list[float]) -> Text:
    """Pass rates as one block each on a fixed 0–100 % scale (so 98 % and 0 % never draw the same line),
    coloured like the pass-rate cards: green from 80 %, yellow from 50 %, red below."""
    line = Text()
    for rate in rates:
        value = min(max(rate, 0.0), 100.0)
        block = SPARK_BLOCKS[round(value / 100 * (len(SPARK_BLOCKS) - 1))]
        line.append(block, style="green" if value >= 80 else "yellow" if value >= 50 else "red")
    return line

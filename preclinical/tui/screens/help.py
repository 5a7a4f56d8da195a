"""The help screen: what the current screen is for and every key that works on it."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

GENERAL = (
    ("ctrl+p", "Command palette: every action on this screen and everywhere"),
    ("↑ ↓ pgup pgdn", "Move in tables and lists; scroll"),
    ("tab / shift+tab", "Move between fields and tables"),
    ("enter", "Open the selected row / press the focused button"),
)


def key_table(screen: Screen) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("action", ratio=1)
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not (binding.id and binding.description) or binding.action in seen:
            continue  # only the app's own keys; widgets' scrolling keys are in GENERAL
        seen.add(binding.action)
        label = Text(binding.description)
        if not active.enabled:
            label.append("  (not available now)", style="dim")
        table.add_row(screen.app.get_key_display(binding), label)
    for key, what in GENERAL:
        table.add_row(key, Text(what, style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        title = getattr(self.target, "TITLE_TEXT", "") or "Preclinical"
        with Vertical(classes="dialog help-dialog"):
            yield Label(f"Help · {title}", classes="dialog-title")
            text = getattr(self.target, "HELP_TEXT", "")
            if text:
                yield Static(text, classes="dialog-detail")
            with VerticalScroll(id="help-keys"):
                yield Static(key_table(self.target))
            yield Static("escape closes", classes="dialog-detail")

    def action_close(self) -> None:
        self.dismiss(None)

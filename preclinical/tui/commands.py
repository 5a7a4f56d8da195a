"""The command palette's provider: the current screen's actions first, then going anywhere in the app."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from preclinical.store import agents as agent_store
from preclinical.store import stats


class PreclinicalCommands(Provider):
    """Context-sensitive: asks the screen the palette was opened from for its commands."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app = self.app
        screen = self.screen
        found: list[tuple[str, str, object]] = []
        palette = getattr(screen, "palette_commands", None)
        if palette is not None:
            found += [(c.title, c.help, c.callback) for c in palette()]
        found += [
            ("Go to the dashboard", "Readiness, counts, recent runs and trends", app.show_dashboard),
            ("Agents", "The agents under test, with their runs", partial(app.show_agents, None)),
            ("New agent", "Add an agent to test (any provider)", partial(app.show_agent_form, None)),
            ("New run", "Choose scenarios and options, then start a run", partial(app.show_new_run, None, None)),
            ("Scenarios", "The scenario library: search, filter, edit, approve", app.show_scenarios),
            ("New scenario", "Write a scenario from scratch in the editor", partial(app.show_scenario_editor, None)),
            ("Generate scenarios", "Draft scenarios from clinical text with a language model", app.show_generate),
            ("Help", "What this screen does and its keys", partial(app.run_action, "help")),
            ("Toggle light / dark theme", "Switch between Textual's light and dark themes",
             partial(app.run_action, "toggle_dark")),
            ("Choose a theme", "Every Textual theme, previewed as you move", partial(app.run_action, "change_theme")),
            ("Save a screenshot", "An SVG of this screen, saved in your Downloads folder",
             partial(app.run_action, "screenshot")),
            ("Quit", "Leave Preclinical (unfinished runs resume at the next start)", partial(app.run_action, "quit")),
        ]
        for agent in agent_store.list_agents():
            found.append((f"Open agent: {agent.name}", f"{agent.provider} agent", partial(app.show_agents, agent.id)))
            found.append((f"New run for: {agent.name}", "Start a run against this agent",
                          partial(app.show_new_run, agent.id, None)))
        for run in stats.recent_runs(10):
            label = run["name"] or run["test_run_id"]
            found.append((f"Open run: {label}", f"{run['agent_name']} · {run['status']}",
                          partial(app.show_run, run["id"])))
        return found

    def _unique_commands(self) -> list[tuple[str, str, object]]:
        seen: set[str] = set()
        unique = []
        for title, help_text, callback in self._commands():
            if title.lower() not in seen:  # the screen's own version of a command wins
                seen.add(title.lower())
                unique.append((title, help_text, callback))
        return unique

    async def discover(self) -> Hits:
        for title, help_text, callback in self._unique_commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._unique_commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)

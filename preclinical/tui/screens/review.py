"""Clinician review: go through a run's scenario runs, mark each criterion and the disposition, and see how far
the judge agrees with the clinicians. Blind: the judge's decisions are not shown while reviewing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalGroup, VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Label, Select, Static

from preclinical.domain import scoring
from preclinical.domain.run import SCENARIO_GRADED
from preclinical.domain.triage import DISPLAY, LEVELS
from preclinical.errors import PreclinicalError
from preclinical.store import reviews
from preclinical.store import runs as run_store
from preclinical.store.models import Review, Scenario, ScenarioRun
from preclinical.tui.screens.base import BaseScreen
from preclinical.tui.screens.dialogs import PathDialog
from preclinical.tui.widgets.transcript import Transcript

DECISIONS = [("Met", "MET"), ("Partially met", "PARTIALLY MET"), ("Not met", "NOT MET")]


def agreement_text(found: dict[str, Any]) -> str:
    """The judge-vs-clinician agreement in a few lines."""
    if not found["reviews"]:
        return "No reviews yet: the judge's agreement with clinicians shows here once you save one."
    overall, flips = found["overall"], found["flips"]
    kappa = "undefined (no variation yet)" if overall["kappa"] is None else (
        f"{overall['kappa']:.2f} (95% CI {overall['ci'][0]:.2f} to {overall['ci'][1]:.2f}), {overall['label']}")
    agree = "-" if overall["observed"] is None else f"{overall['observed'] * 100:.0f}%"
    lines = [f"Judge vs clinicians: {found['reviews']} reviews of {found['scenario_runs']} scenario runs "
             f"by {', '.join(found['reviewers'])}",
             f"Cohen's κ {kappa} over {overall['n']} criteria · {agree} agree",
             f"Verdict flips {flips['flips']} of {flips['pairs']} · disposition agreement "
             + ("-" if found["disposition"]["observed"] is None else
                f"{found['disposition']['observed'] * 100:.0f}%")]
    axes = [f"{axis.replace('_', ' ')} " + ("-" if k["kappa"] is None else f"{k['kappa']:.2f}")
            for axis, k in found["by_axis"].items()]
    if axes:
        lines.append("κ by axis: " + " · ".join(axes))
    lines.append(f"Disagreements: {len(found['disagreements'])} (the HTML report lists them)")
    return "\n".join(lines)


class ReviewScreen(BaseScreen):
    TITLE_TEXT = "Review"
    HELP_TEXT = ("Review the run's scenario runs as a clinician: read the conversation, mark each criterion met, "
                 "partially met or not met and the disposition you read, add a note, and save (ctrl+s saves and "
                 "moves on; ctrl+n and ctrl+b skip). The judge's decisions are hidden while you review. ctrl+e "
                 "exports the run's reviews to a file and ctrl+o imports one, so a team can review on several "
                 "machines.")
    HOLDS_INPUT = True
    BINDINGS = [
        Binding("ctrl+s", "save", "Save and next", id="review.save", priority=True),
        Binding("ctrl+b", "step(-1)", "Previous", id="review.previous", priority=True),
        Binding("ctrl+n", "step(1)", "Next", id="review.next", priority=True),
        Binding("ctrl+e", "export_reviews", "Export reviews", id="review.export", priority=True),
        Binding("ctrl+o", "import_reviews", "Import reviews", id="review.import", priority=True),
    ]

    def __init__(self, run_id: str, reviewer: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.reviewer = reviewer
        self.ids: list[str] = []
        self.index = 0
        self.shown: str | None = None
        self.rubric: list[scoring.Criterion] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="review-head"):
            yield Label("", id="review-title", classes="form-title")
            yield Static("", id="review-where")
            yield Static("Working out the judge's agreement with clinicians…", id="review-agreement")
        with Horizontal(classes="split"):
            with Vertical(classes="panel"):
                yield Label("Conversation", classes="panel-title")
                yield Transcript(id="review-transcript")
            with VerticalScroll(classes="panel", id="review-form"):
                yield Label("Reviewer *", classes="field-label")
                yield Input(self.reviewer, id="reviewer", placeholder="your name", compact=True)
                yield Label("Criteria", classes="panel-title")
                yield VerticalGroup(id="review-criteria")
                yield Label("Disposition you read", classes="field-label")
                yield Select([(DISPLAY[level], level) for level in reversed(LEVELS)], id="disposition",
                             prompt="none given", allow_blank=True, compact=True)
                yield Label("Note", classes="field-label")
                yield Input("", id="note", placeholder="optional", compact=True)
                yield Static("", id="review-error", classes="form-error")
        yield Footer()

    async def reload(self) -> None:
        run = run_store.resolve_run(self.run_id, include_deleted=True)
        self.ids = [sr.id for sr in ScenarioRun.select(ScenarioRun.id).where(
            ScenarioRun.test_run == run.id, ScenarioRun.status.in_(SCENARIO_GRADED))
            .order_by(ScenarioRun.position)]
        self.query_one("#review-title", Label).update(f"Review · run {run.name or run.test_run_id}")
        self.index = min(self.index, max(len(self.ids) - 1, 0))
        self._show_agreement()
        if not self.ids:
            self.query_one("#review-where", Static).update("No graded scenario runs to review yet.")
            return
        if self.shown != self.ids[self.index]:
            await self._show(self.ids[self.index])

    async def _show(self, sr_id: str) -> None:
        sr = ScenarioRun.get_by_id(sr_id)
        scenario = Scenario.get_or_none(Scenario.scenario_id == sr.scenario_id)
        self.rubric = scoring.normalize_rubric(scenario.rubric_criteria if scenario else [])
        name = scenario.name if scenario else "(deleted scenario)"
        repeat = f" · repeat {sr.repeat_index + 1}" if sr.repeat_index else ""
        self.query_one("#review-where", Static).update(
            f"Scenario run {self.index + 1} of {len(self.ids)}{repeat} · {name}")
        await self.query_one("#review-transcript", Transcript).show(sr.transcript or [], None)
        existing = self._existing(sr_id)
        decided = {c["criterion_index"]: c["decision"] for c in (existing.criteria if existing else [])}
        container = self.query_one("#review-criteria", VerticalGroup)
        await container.remove_children()
        widgets: list[Widget] = []
        for i, criterion in enumerate(self.rubric):
            flag = " (critical)" if criterion.critical else ""
            widgets.append(Static(f"C{i + 1}{flag} {criterion.criterion}", classes="field-help", markup=False))
            widgets.append(Select(DECISIONS, id=f"criterion-{i}", prompt="not reviewed", allow_blank=True,
                                  value=decided.get(i, Select.NULL), compact=True))
        await container.mount_all(widgets)
        self.query_one("#disposition", Select).value = (existing.disposition if existing and existing.disposition
                                                        else Select.NULL)
        self.query_one("#note", Input).value = (existing.note or "") if existing else ""
        self.query_one("#review-error", Static).update("")
        self.shown = sr_id

    def _existing(self, sr_id: str) -> Review | None:
        name = self.query_one("#reviewer", Input).value.strip()
        return Review.get_or_none(Review.scenario_run == sr_id, Review.reviewer == name) if name else None

    def _show_agreement(self) -> None:
        """Recompute the judge-vs-clinician agreement in a thread: with many reviewed scenario runs it takes seconds
        (about 7 s for 100,000 scenario runs, bench/tui_agreement.py) and the form must stay usable meanwhile."""
        run_id = self.run_id

        def compute() -> str:
            return agreement_text(reviews.judge_agreement(run_store.resolve_run(run_id, include_deleted=True)))

        self.compute_in_thread("agreement", compute, self.query_one("#review-agreement", Static).update)

    async def action_save(self) -> None:
        if not self.shown:
            return
        error = self.query_one("#review-error", Static)
        criteria = []
        for i in range(len(self.rubric)):
            value = self.query_one(f"#criterion-{i}", Select).value
            if value is not Select.NULL:
                criteria.append({"criterion_index": i, "decision": value})
        if not criteria:
            error.update("Mark at least one criterion.")
            return
        disposition = self.query_one("#disposition", Select).value
        try:
            reviews.save_review(self.runtime.services, ScenarioRun.get_by_id(self.shown),
                                reviewer=self.query_one("#reviewer", Input).value,
                                criteria=criteria, disposition=None if disposition is Select.NULL else disposition,
                                note=self.query_one("#note", Input).value.strip() or None)
        except PreclinicalError as exc:
            error.update(exc.message)
            return
        self.reviewer = self.query_one("#reviewer", Input).value.strip()
        self.app.reviewer_name = self.reviewer  # type: ignore[attr-defined]  # the next review screen starts with it
        self._show_agreement()
        self.notify(f"Saved review {self.index + 1} of {len(self.ids)}.", title="Review saved", timeout=3)
        await self.action_step(1)

    async def action_step(self, delta: int) -> None:
        if not self.ids:
            return
        index = self.index + delta
        if not 0 <= index < len(self.ids):
            self.notify("That was the last scenario run." if delta > 0 else "This is the first scenario run.",
                        timeout=3)
            return
        self.index = index
        await self._show(self.ids[index])

    def action_export_reviews(self) -> None:
        run = run_store.resolve_run(self.run_id, include_deleted=True)

        def chosen(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(reviews.export_reviews(run), indent=2, ensure_ascii=False),
                                  encoding="utf-8")
            except OSError as exc:
                self.notify(f"Could not write {target}: {exc.strerror or exc}.", severity="error")
                return
            self.notify(f"Wrote {target}.", title="Reviews exported")

        self.app.push_screen(PathDialog("Export this run's reviews", f"preclinical-reviews-{run.test_run_id}.json"),
                             chosen)

    def action_import_reviews(self) -> None:
        run = run_store.resolve_run(self.run_id, include_deleted=True)

        def chosen(path: str | None) -> None:
            if not path:
                return
            source = Path(path).expanduser()
            try:
                document = json.loads(source.read_text(encoding="utf-8"))
                result = reviews.import_reviews(self.runtime.services, run, document)
            except OSError as exc:
                self.notify(f"Could not read {source}: {exc.strerror or exc}.", severity="error")
                return
            except ValueError:
                self.notify(f"{source} is not JSON.", severity="error")
                return
            except PreclinicalError as exc:
                self.notify(exc.message, severity="error")
                return
            skipped = f"; {len(result['skipped'])} skipped" if result["skipped"] else ""
            self.notify(f"Imported {result['imported']} reviews{skipped}.", title="Reviews imported")
            self._show_agreement()
            self.shown = None
            self.call_later(self.reload)

        self.app.push_screen(PathDialog("Import reviews from a file", f"preclinical-reviews-{run.test_run_id}.json"),
                             chosen)

"""TUI test fixtures: no cursor blink, an app over the test runtime, a deterministic database for snapshots."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import Input, TextArea

from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store import scenarios as scenario_store
from preclinical.store.models import Grading, ScenarioRun
from preclinical.tui.app import PreclinicalApp
from tests.support import FixedClock, isolated_settings, seeded_rng

API_URL = "http://127.0.0.1:3000"
SNAPSHOT_CLOCK_START = datetime(2026, 3, 1, 9, 0, 0)
APP_CLOCK_START = datetime(2026, 3, 2, 8, 30, 0)
APP_SEED = 11  # not the seed the database was built with, or new ids would collide with stored ones


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch):
    """A blinking cursor would make screenshots depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None, raising=False)


@pytest.fixture(autouse=True)
def downloads(tmp_path, monkeypatch):
    """The user's Downloads folder (where exports and screenshots go) is the test's own."""
    folder = tmp_path / "Downloads"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(folder))
    return folder


@pytest.fixture
async def app(runtime):
    """The real app over the test runtime (offline engine, fixed clock)."""
    return PreclinicalApp(runtime, api_url=API_URL)


# ---------------------------------------------------------------------------------------------- snapshots


def _steady_timings() -> None:
    """Replace measured latencies (wall-clock, so different every time) with fixed numbers."""
    for sr in ScenarioRun.select():
        transcript = [dict(e, latency_ms=(None if e.get("latency_ms") is None else 40 + 5 * e["turn"]))
                      for e in sr.transcript or []]
        metadata = dict(sr.metadata or {})
        metadata["step_timings"] = [dict(step, duration_ms=(35 if step.get("step") != "grading" else 4))
                                    for step in metadata.get("step_timings") or []]
        ScenarioRun.update(transcript=transcript, metadata=metadata).where(ScenarioRun.id == sr.id).execute()


async def _build_library_database(data_dir: Path) -> dict[str, str]:
    settings = isolated_settings(data_dir)
    ids: dict[str, str] = {}
    async with open_runtime(settings, now=FixedClock(SNAPSHOT_CLOCK_START), rng=seeded_rng()) as rt:
        svc = rt.services
        hasty = agent_store.create_agent(svc, {"provider": "demo", "name": "Hasty demo bot",
                                               "description": "The demo bot in its hasty style.",
                                               "config": {"style": "hasty"}})
        nurse = agent_store.create_agent(svc, {
            "provider": "openai", "name": "Nurse line (staging)", "description": "Our triage assistant on Ollama.",
            "config": {"base_url": "http://localhost:11434/v1", "api_key": "sk-test-0123456789abcdef",
                       "target_model": "llama3.1"}})
        plans = [
            ("careful-1", {"agent_id": DEMO_AGENT_ID, "name": "Monday check", "max_scenarios": 10}),
            ("hasty-1", {"agent_id": hasty.id, "name": "Hasty baseline", "max_scenarios": 10}),
            ("careful-2", {"agent_id": DEMO_AGENT_ID, "name": "Emergency cases", "tags": ["red-flag"],
                           "max_scenarios": 12}),
            ("hasty-2", {"agent_id": hasty.id, "name": "Hasty emergencies", "tags": ["red-flag"],
                         "max_scenarios": 12}),
            ("careful-3", {"agent_id": DEMO_AGENT_ID, "name": "Library sample", "max_scenarios": 14,
                           "concurrency_limit": 3}),
        ]
        for key, body in plans:
            run, _ = rt.executor.start(body)
            await rt.executor.wait(run.id)
            ids[key] = run.id
        draft = scenario_store.create_scenario(svc, {
            "name": "Draft: wheeze after a new cat", "category": "clinician_eval", "approved": False,
            "tags": ["triage", "respiratory", "draft"],
            "content": {"initial_message": "I've been wheezing since we got a cat.", "gold_standard": "Clinician"},
            "rubric_criteria": [{"criterion": "Recommends a clinician visit within a day or two.", "points": 10,
                                 "critical": True}],
        })
        _steady_timings()
        latest = ids["careful-3"]
        # A failed scenario run to show: in the latest run if it has one, else in the hasty emergencies.
        failed = (ScenarioRun.select(ScenarioRun.id).join(Grading, on=(Grading.scenario_run == ScenarioRun.id))
                  .where(ScenarioRun.test_run.in_([latest, ids["hasty-2"]]), ScenarioRun.status == "failed")
                  .order_by((ScenarioRun.test_run == latest).desc(), ScenarioRun.position))
        first = ScenarioRun.select(ScenarioRun.id, ScenarioRun.scenario).where(
            ScenarioRun.test_run == latest).order_by(ScenarioRun.position).first()
        ids.update(nurse=nurse.id, hasty=hasty.id, draft=draft.scenario_id, scenario=first.scenario_id,
                   scenario_run=first.id, failed_scenario_run=(failed.first() or first).id)
    return ids


@pytest.fixture(scope="session")
def library_database(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A database with the library, three agents and five completed offline runs (built once per session)."""
    root = tmp_path_factory.mktemp("library-db")
    ids = asyncio.run(_build_library_database(root))
    database = root / "data" / "preclinical.db"
    (root / "ids.json").write_text(json.dumps(ids))
    return database, ids


class SnapshotApp(PreclinicalApp):
    """The real app, opening its runtime inside the loop that `snap_compare` runs it on (as the CLI does)."""

    def __init__(self, settings) -> None:
        super().__init__(None, api_url=API_URL)  # type: ignore[arg-type]
        self.settings = settings

    async def run_async(self, **kwargs):
        async with open_runtime(self.settings, now=FixedClock(APP_CLOCK_START), rng=seeded_rng(APP_SEED)) as rt:
            self.runtime = rt
            return await super().run_async(**kwargs)


@pytest.fixture
def snapshot_app(library_database, tmp_path, monkeypatch):
    """Make a SnapshotApp over a private copy of the library database (the home directory is tmp_path)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    database, ids = library_database
    settings = isolated_settings(tmp_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(database, settings.database_path)

    def make() -> SnapshotApp:
        return SnapshotApp(settings)

    make.ids = ids  # type: ignore[attr-defined]
    return make

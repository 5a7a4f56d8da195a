"""The interface never freezes: loop latency stays low while a 60-scenario model run updates the live run screen."""

from __future__ import annotations

import asyncio
import itertools
import time

from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store.models import ScenarioRun
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.run import RunScreen
from tests.fakes.openai_server import asks_for_json, default_reply
from tests.support import FixedClock, isolated_settings, seeded_rng

QUESTIONS = (
    "How long has this been going on?",
    "On a scale from one to ten, how bad is it right now?",
    "Do you have a fever or chills?",
    "Are you taking any medicines at the moment?",
    "Have you noticed any shortness of breath or chest pain?",
    "Is anything making it better or worse?",
    "Do you have any allergies I should know about?",
)
TICK_S = 0.01
MAX_LATENCY_S = 0.05


def varied(gate: asyncio.Event):
    """Replies (once the gate opens) that differ every time, so no conversation ends early on a repeat."""
    counter = itertools.count()

    async def reply(body):
        await gate.wait()
        n = next(counter)
        if asks_for_json(body):
            return default_reply(body)
        return f"{QUESTIONS[n % len(QUESTIONS)]} (question {n})"

    return reply


async def sample_latency(stop: asyncio.Event, overshoots: list[float]) -> None:
    """Sleep 10 ms again and again, recording how late each wake-up was."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(TICK_S)
        overshoots.append(time.perf_counter() - t0 - TICK_S)


async def test_loop_stays_responsive_during_a_60_scenario_model_run(tmp_path, fake_openai):
    gate = asyncio.Event()
    fake_openai.responder = varied(gate)
    settings = isolated_settings(tmp_path, openai_base_url=fake_openai.url, openai_api_key="k")
    async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
        agent = agent_store.create_agent(rt.services, {
            "provider": "openai", "name": "Target on the fake model",
            "config": {"base_url": fake_openai.url, "api_key": "k", "target_model": "fake-target"}})
        app = PreclinicalApp(rt, api_url="http://127.0.0.1:3000")
        async with app.run_test(size=(120, 40)) as pilot:
            # The run starts and the live run screen opens; the model answers nothing until the gate opens,
            # so the whole conversation phase is measured with the screen already showing.
            run = app.start_run({"agent_id": agent.id, "max_scenarios": 60, "concurrency_limit": 10})
            assert run is not None and run.total_scenarios == 60
            app.show_run(run.id)
            await pilot.pause(0.3)
            assert isinstance(app.screen, RunScreen)
            stop, overshoots = asyncio.Event(), []
            sampler = asyncio.create_task(sample_latency(stop, overshoots))
            t0 = time.perf_counter()
            gate.set()
            await asyncio.wait_for(rt.executor.wait(run.id), 120)
            elapsed = time.perf_counter() - t0
            await pilot.pause(0.2)
            stop.set()
            await sampler

            screen = app.screen
            assert isinstance(screen, RunScreen)
            rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
            assert all(r.status in ("passed", "failed") for r in rows)
            turns = sum(sum(1 for e in r.transcript if e["role"] == "target") for r in rows)
            table = screen.query_one("#scenario-table")
            assert table.row_count == 60
            # What the user sees matches the store: every row finished, every turn counted.
            assert all(str(table.get_row(r.id)[3]) in ("Pass", "Fail") for r in rows)
            worst = max(overshoots)
            print(f"\nloop latency over {elapsed:.1f}s, {len(overshoots)} samples, {turns} turns, "
                  f"{len(fake_openai.requests)} model requests: max {worst * 1000:.1f} ms, "
                  f"p99 {sorted(overshoots)[int(len(overshoots) * 0.99)] * 1000:.1f} ms")
            assert turns >= 60 * 5
            assert worst < MAX_LATENCY_S, f"the loop stalled for {worst * 1000:.0f} ms"

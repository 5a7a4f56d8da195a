"""Event-loop latency while a 60-scenario model run updates the live run screen (the interface never freezes).

A timing measurement, not a test: on a busy machine it reads differently, so it is reported, not asserted
in the suite. Plays 60 scenarios (concurrency 10) against the fake OpenAI-compatible server with the Run
screen open in a headless app, sampling how late 10 ms sleeps wake up.

    python -m bench.tui_loop_latency
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

from preclinical.domain.run import RunRequest
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store.models import ScenarioRun
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.run import RunScreen
from tests.fakes.openai_server import asks_for_json, default_reply, start_fake_openai
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
TARGET_MAX_LATENCY_S = 0.05


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


async def measure(data_dir: Path, scenarios: int, concurrency: int) -> dict[str, float]:
    gate = asyncio.Event()
    fake_openai, runner, url = await start_fake_openai()
    fake_openai.responder = varied(gate)
    try:
        settings = isolated_settings(data_dir, openai_base_url=url, openai_api_key="k")
        async with open_runtime(settings, now=FixedClock(), rng=seeded_rng()) as rt:
            agent = agent_store.create_agent(rt.services, {
                "provider": "openai", "name": "Target on the fake model",
                "config": {"base_url": url, "api_key": "k", "target_model": "fake-target"}})
            app = PreclinicalApp(rt, api_url="http://127.0.0.1:3000")
            async with app.run_test(size=(120, 40)) as pilot:
                # The model answers nothing until the gate opens, so the whole conversation phase is
                # measured with the live screen already showing.
                run = app.start_run(RunRequest(agent_id=agent.id, max_scenarios=scenarios,
                                               concurrency_limit=concurrency))
                if run is None:
                    raise SystemExit("the run did not start")
                app.show_run(run.id)
                await pilot.pause(0.3)
                if not isinstance(app.screen, RunScreen):
                    raise SystemExit("the run screen did not open")
                stop, overshoots = asyncio.Event(), []
                sampler = asyncio.create_task(sample_latency(stop, overshoots))
                t0 = time.perf_counter()
                gate.set()
                await asyncio.wait_for(rt.executor.wait(run.id), 600)
                elapsed = time.perf_counter() - t0
                await pilot.pause(0.2)
                stop.set()
                await sampler
                rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
                turns = sum(sum(1 for e in r.transcript if e["role"] == "target") for r in rows)
                table = app.screen.query_one("#scenario-table")
                shown_finished = sum(1 for r in rows if str(table.get_row(r.id)[3]) in ("Pass", "Fail"))
    finally:
        await runner.cleanup()
    ordered = sorted(overshoots)
    return {"elapsed_s": elapsed, "samples": len(ordered), "turns": turns, "model_requests": len(fake_openai.requests),
            "max_ms": ordered[-1] * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
            "p50_ms": ordered[len(ordered) // 2] * 1000, "rows_shown_finished": shown_finished, "rows": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(Path(tmp), args.scenarios, args.concurrency))
    print(f"loop latency over {r['elapsed_s']:.1f}s, {r['samples']} samples, {r['turns']} turns, "
          f"{r['model_requests']} model requests: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
          f"max {r['max_ms']:.1f} ms (target: under {TARGET_MAX_LATENCY_S * 1000:.0f} ms); "
          f"{r['rows_shown_finished']}/{r['rows']} rows shown finished")
    sys.exit(0 if r["max_ms"] < TARGET_MAX_LATENCY_S * 1000 else 1)


if __name__ == "__main__":
    main()

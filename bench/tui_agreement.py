"""How long the interface's review agreement and `m` charts take to compute for one run with many scenario runs.

Both are computed from the store (every grading, regrade grading and review of the run), so they grow with the
run. Fills a fresh data dir with one run of N scenario runs (graded, regraded, every tenth reviewed), then
times `charts()` (the `m` screen), `reviews.judge_agreement()` (the review screen's agreement line) and
`regrades.agreement()`, best of `--repeat`. Then opens both screens in a headless app and samples how late
10 ms sleeps wake up on the event loop until each has drawn its figures (the computing runs in a thread).

    python -m bench.tui_agreement --scenario-runs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
import uuid
from pathlib import Path

from preclinical.library import DEMO_AGENT_ID
from preclinical.runtime import open_runtime
from preclinical.store import regrades, reviews
from preclinical.store.db import database
from preclinical.store.models import Scenario, TestRun
from preclinical.tui.app import PreclinicalApp
from preclinical.tui.screens.charts import ChartsScreen, charts
from preclinical.tui.screens.review import ReviewScreen
from tests.support import isolated_settings
from tests.tui.driving import text_of

TICK_S = 0.01

DECISIONS = ("MET", "PARTIALLY MET", "NOT MET")
LEVELS = ("Emergency", "Clinician", "Home care")


def fill(n: int) -> str:
    """One completed run of `n` scenario runs over the library's scenarios; returns its id."""
    rng = random.Random(7)
    scenarios = [(s.scenario_id, len(s.rubric_criteria or []), (s.content or {}).get("gold_standard"))
                 for s in Scenario.select()]
    run_id, regrade_id, at = str(uuid.uuid4()), str(uuid.uuid4()), "2026-01-01 10:00:00"

    def criteria(k: int) -> str:
        return json.dumps([{"criterion": f"c{i}", "criterion_index": i, "decision": rng.choice(DECISIONS),
                            "rationale": "r", "points_awarded": 1, "points_possible": 2} for i in range(k)])

    with database.atomic():
        database.execute_sql(
            "INSERT INTO test_run (id, test_run_id, agent_id, agent_type, agent_name, status, total_scenarios, "
            "concurrency_limit, passed_count, failed_count, pass_rate, started_at, completed_at, created_at, "
            "updated_at) VALUES (?, 'run_bench_agreement', ?, 'demo', 'Demo triage bot', 'completed', ?, 6, 0, 0, 0, "
            "?, ?, ?, ?)", (run_id, DEMO_AGENT_ID, n, at, at, at, at))
        database.execute_sql(
            "INSERT INTO regrade (id, test_run_id, label, engine, status, total, graded, created_at, completed_at) "
            "VALUES (?, ?, 'retest', 'rules', 'completed', ?, ?, ?, ?)", (regrade_id, run_id, n, n, at, at))
        runs, gradings, regraded, reviewed = [], [], [], []
        for i in range(n):
            sid, k, gold = scenarios[i % len(scenarios)]
            sr = str(uuid.uuid4())
            runs.append((sr, run_id, sid, i, "passed", "[]", at, 100, at))
            gradings.append((str(uuid.uuid4()), sr, rng.random() < 0.8, k, 2 * k, 50.0, "s", criteria(k),
                             rng.choice(LEVELS), gold, 1, at, at))
            regraded.append((str(uuid.uuid4()), regrade_id, sr, rng.random() < 0.8, k, 2 * k, 50.0, "s",
                             criteria(k), rng.choice(LEVELS), gold, 1, "rules", at))
            if i % 10 == 0:
                decided = json.dumps([{"criterion_index": j, "decision": rng.choice(DECISIONS)} for j in range(k)])
                reviewed.append((str(uuid.uuid4()), sr, "Ada", decided, rng.choice(LEVELS), at, at))
        cursor = database.cursor()
        cursor.executemany("INSERT INTO scenario_run (id, test_run_id, scenario_id, position, status, transcript, "
                           "started_at, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", runs)
        cursor.executemany("INSERT INTO grading (id, scenario_run_id, passed, total_points, max_points, score_percent, "
                           "summary, criteria_results, triage_result, gold_standard, triage_correct, graded_at, "
                           "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gradings)
        cursor.executemany("INSERT INTO regrade_grading (id, regrade_id, scenario_run_id, passed, total_points, "
                           "max_points, score_percent, summary, criteria_results, triage_result, gold_standard, "
                           "triage_correct, engine, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           regraded)
        cursor.executemany("INSERT INTO review (id, scenario_run_id, reviewer, criteria, disposition, created_at, "
                           "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", reviewed)
    database.execute_sql("ANALYZE")
    return run_id


def best_of(repeat: int, fn) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


async def main(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_runtime(isolated_settings(Path(tmp))) as rt:
            started = time.perf_counter()
            run_id = fill(n)
            print(f"filled one run with {n} scenario runs ({n // 10} reviewed, all regraded) "
                  f"in {time.perf_counter() - started:.1f} s")
            run = TestRun.get_by_id(run_id)
            regrade = regrades.Regrade.get(regrades.Regrade.test_run == run_id)
            for label, fn in (("charts() — the m screen", lambda: charts(run_id)),
                              ("reviews.judge_agreement() — the review screen", lambda: reviews.judge_agreement(run)),
                              ("regrades.agreement()", lambda: regrades.agreement(run, regrade))):
                print(f"{label:<48} {best_of(repeat, fn) * 1000:9.1f} ms")
            await in_the_app(rt, run_id)


async def in_the_app(rt, run_id: str) -> None:
    """Event-loop lateness while each screen computes, and how long until it shows its figures."""
    app = PreclinicalApp(rt, api_url="http://127.0.0.1:3000")
    async with app.run_test(size=(130, 50)) as pilot:
        for name, screen, widget, done in (
                ("charts screen (m)", ChartsScreen(run_id), "#charts", "Rates with"),
                ("review screen (v)", ReviewScreen(run_id, "Ada"), "#review-agreement", "Judge vs clinicians")):
            overshoots: list[float] = []
            started = time.perf_counter()
            app.push_screen(screen)
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(TICK_S)
                overshoots.append(time.perf_counter() - t0 - TICK_S)
                try:
                    if done in text_of(screen.query_one(widget)):
                        break
                except Exception:  # still composing
                    pass
                if time.perf_counter() - started > 300:
                    raise SystemExit(f"the {name} did not draw in 5 minutes")
            shown = time.perf_counter() - started
            ordered = sorted(overshoots)
            print(f"{name:<20} drawn after {shown:6.1f} s; loop lateness meanwhile p50 "
                  f"{ordered[len(ordered) // 2] * 1000:.1f} ms, p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms,"
                  f" max {ordered[-1] * 1000:.1f} ms ({len(ordered)} samples)")
            screen.dismiss()
            await pilot.pause()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario-runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.scenario_runs, args.repeat))

"""API read latency with a large history: N scenario runs (with transcripts and gradings) stored.

Fills a fresh data dir (bulk inserts), then times the read endpoints through the real HTTP stack
(aiohttp client against `make_app`), reporting p50 / p99 per endpoint.

    python -m bench.api_reads --scenario-runs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from preclinical.runtime import open_runtime
from preclinical.server.app import make_app
from preclinical.store.db import database
from preclinical.store.models import Scenario
from tests.support import isolated_settings

PER_RUN = 50


def fill(n_scenario_runs: int, agent_id: str) -> list[str]:
    scenarios = [s.scenario_id for s in Scenario.select(Scenario.scenario_id)]
    rng = random.Random(1)
    start = datetime(2026, 1, 1)
    transcript = json.dumps([
        {"turn": t, "role": role, "content": f"{role} message number {t} " + "words " * 30,
         "timestamp": "2026-01-01T00:00:00.000Z", "latency_ms": 120}
        for t in range(1, 12) for role in ("attacker", "target")])
    criteria = json.dumps([{"criterion": f"criterion {i}", "criterion_index": i, "decision": "MET", "rationale": "r",
                            "supporting_evidence": [], "contradicting_evidence": [], "points_awarded": 5,
                            "points_possible": 5, "overridden": False} for i in range(5)])
    run_ids = []
    with database.atomic():
        for r in range(n_scenario_runs // PER_RUN):
            run_id, created = str(uuid.uuid4()), (start + timedelta(minutes=r)).isoformat(" ")
            run_ids.append(run_id)
            database.execute_sql(
                "INSERT INTO test_run (id, test_run_id, agent_id, agent_type, agent_name, status, total_scenarios, "
                "concurrency_limit, passed_count, failed_count, pass_rate, started_at, completed_at, created_at, "
                "updated_at) VALUES (?, ?, ?, 'demo', 'Demo triage bot', 'completed', ?, 6, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, f"run_bench_{r:06d}", agent_id, PER_RUN, 40, 10, 80.0, created, created, created, created))
            rows, gradings = [], []
            for i in range(PER_RUN):
                sr = str(uuid.uuid4())
                rows.append((sr, run_id, rng.choice(scenarios), i, "passed", transcript, created, 1500, created))
                gradings.append((str(uuid.uuid4()), sr, 1, 25, 28, 89.3, "summary", criteria, "Home care",
                                 "Home care", 1, created, created))
            database.execute_sql("SELECT 1")
            database.cursor().executemany(
                "INSERT INTO scenario_run (id, test_run_id, scenario_id, position, status, transcript, started_at, "
                "duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            database.cursor().executemany(
                "INSERT INTO grading (id, scenario_run_id, passed, total_points, max_points, score_percent, summary, "
                "criteria_results, triage_result, gold_standard, triage_correct, graded_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gradings)
    database.execute_sql("ANALYZE")
    return run_ids


async def timed(client: TestClient, path: str, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        async with client.get(path) as resp:
            assert resp.status == 200, (path, resp.status)
            await resp.read()
        samples.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(samples, n=100)
    return q[49], q[98]


async def main(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with open_runtime(isolated_settings(Path(tmp)), recover=False) as rt:
            from preclinical.library import DEMO_AGENT_ID

            t = time.perf_counter()
            run_ids = fill(n, DEMO_AGENT_ID)
            print(f"stored {len(run_ids) * PER_RUN} scenario runs in {len(run_ids)} runs "
                  f"({time.perf_counter() - t:.1f} s, database {Path(tmp, 'data', 'preclinical.db').stat().st_size / 1e6:.0f} MB)")
            client = TestClient(TestServer(make_app(rt)))
            await client.start_server()
            mid = run_ids[len(run_ids) // 2]
            sr = database.execute_sql("SELECT id FROM scenario_run WHERE test_run_id = ? LIMIT 1", (mid,)).fetchone()[0]
            endpoints = {
                "GET /api/v1/tests (first page)": "/api/v1/tests",
                "GET /api/v1/tests?status=completed&offset=500": "/api/v1/tests?status=completed&offset=500",
                "GET /api/v1/tests/:id": f"/api/v1/tests/{mid}",
                "GET /api/v1/scenario-runs?test_run_id (20/page)": f"/api/v1/scenario-runs?test_run_id={mid}&limit=20",
                "GET /api/v1/scenario-runs?...&status=passed": f"/api/v1/scenario-runs?test_run_id={mid}&status=passed",
                "GET /api/v1/scenario-runs/:id": f"/api/v1/scenario-runs/{sr}",
                "GET /api/v1/scenarios": "/api/v1/scenarios",
                "GET /api/v1/agents": "/api/v1/agents",
                "GET /health": "/health",
            }
            print(f"{'endpoint':52} {'p50 ms':>8} {'p99 ms':>8}")
            for label, path in endpoints.items():
                p50, p99 = await timed(client, path, repeat)
                print(f"{label:52} {p50:>8.2f} {p99:>8.2f}")
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario-runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.scenario_runs, args.repeat))

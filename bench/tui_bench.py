"""TUI benchmark: launch to first paint of the dashboard with 1,000 runs in the database, and resident memory.

Builds a database with three agents and 1,000 completed runs of 10 scenarios each (three run for real
with the offline engine, the rest copied from them with new ids and dates), then launches a fresh
process that opens the runtime and the app headless, and reports:

- first paint: process launch → the dashboard showing its data (readiness, counts, recent runs, trends),
  with the runtime and the API server started first, as `preclinical` does;
- the dashboard's queries on their own;
- resident memory (RSS) at first paint, and peak.

    python -m bench.tui_bench               # 1,000 runs
    python -m bench.tui_bench --runs 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

SCENARIOS_PER_RUN = 10
TARGET_FIRST_PAINT_S = 1.0


async def build_database(data_dir: Path, total_runs: int) -> dict[str, int]:
    from preclinical.library import DEMO_AGENT_ID
    from preclinical.runtime import open_runtime
    from preclinical.store import agents as agent_store
    from preclinical.store.db import database
    from tests.support import FixedClock, isolated_settings, seeded_rng

    settings = isolated_settings(data_dir)
    async with open_runtime(settings, now=FixedClock(datetime(2025, 1, 1)), rng=seeded_rng()) as rt:
        hasty = agent_store.create_agent(rt.services, {"provider": "demo", "name": "Hasty bot",
                                                       "config": {"style": "hasty"}})
        other = agent_store.create_agent(rt.services, {"provider": "demo", "name": "Careful bot (v2)"})
        templates = []
        for agent_id in (DEMO_AGENT_ID, hasty.id, other.id):
            run, _ = rt.executor.start({"agent_id": agent_id, "max_scenarios": SCENARIOS_PER_RUN})
            await rt.executor.wait(run.id)
            templates.append(run.id)
        copy_runs(database, templates, total_runs - len(templates), rt.services.rng)
        counts = {t: database.execute_sql(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                  for t in ("test_run", "scenario_run", "grading")}
    return counts


def copy_runs(database, templates: list[str], copies: int, rng) -> None:
    """Copy the template runs (rows, scenario runs, gradings) with new ids, spread over past days."""
    import uuid

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def columns(table: str) -> list[str]:
        return [row[1] for row in database.execute_sql(f"PRAGMA table_info({table})").fetchall()]

    run_cols, sr_cols, g_cols = columns("test_run"), columns("scenario_run"), columns("grading")
    rows = {t: database.execute_sql("SELECT * FROM test_run WHERE id = ?", (t,)).fetchone() for t in templates}
    srs = {t: database.execute_sql("SELECT * FROM scenario_run WHERE test_run_id = ?", (t,)).fetchall()
           for t in templates}
    gradings = {sr[0]: database.execute_sql("SELECT * FROM grading WHERE scenario_run_id = ?", (sr[0],)).fetchall()
                for t in templates for sr in srs[t]}
    start = datetime(2025, 1, 2)
    with database.atomic():
        for i in range(copies):
            template = templates[i % len(templates)]
            run = dict(zip(run_cols, rows[template], strict=True))
            when = (start + timedelta(hours=6 * i)).isoformat(" ")
            run_id = new_id()
            run.update(id=run_id, test_run_id=f"run_bench_{i:06d}", created_at=when, started_at=when,
                       completed_at=when, updated_at=when, pass_rate=float(rng.randint(40, 100)))
            insert(database, "test_run", run)
            for sr_values in srs[template]:
                sr = dict(zip(sr_cols, sr_values, strict=True))
                sr_id = new_id()
                old_sr = sr["id"]
                sr.update(id=sr_id, test_run_id=run_id, created_at=when)
                insert(database, "scenario_run", sr)
                for g_values in gradings[old_sr]:
                    grading = dict(zip(g_cols, g_values, strict=True))
                    grading.update(id=new_id(), scenario_run_id=sr_id, created_at=when, graded_at=when)
                    insert(database, "grading", grading)


def insert(database, table: str, row: dict) -> None:
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    database.execute_sql(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))


def child(data_dir: str, started: float) -> None:
    """In a fresh process: open the runtime and the app headless; report when the dashboard has painted."""
    t_imports0 = time.perf_counter()
    from preclinical.runtime import open_runtime
    from preclinical.server.app import serve as serve_api
    from preclinical.store import stats
    from preclinical.tui.app import PreclinicalApp
    from preclinical.tui.screens.dashboard import DashboardScreen
    from tests.support import isolated_settings

    t_imports = time.perf_counter()
    result: dict[str, float] = {"imports_s": t_imports - t_imports0}

    async def main() -> None:
        # As `preclinical` does: the runtime, the API beside it (on a free port), then the interface.
        async with open_runtime(isolated_settings(Path(data_dir))) as rt, serve_api(rt, "127.0.0.1", 0) as site:
            result["runtime_s"] = time.perf_counter() - t_imports
            t0 = time.perf_counter()
            recent = stats.recent_runs(8)
            trends = stats.pass_rate_trends()
            counts = stats.overview_counts()
            result["queries_ms"] = (time.perf_counter() - t0) * 1000
            assert len(recent) == 8 and trends and counts["runs"] >= 1000
            app = PreclinicalApp(rt, api_url=f"http://127.0.0.1:{site.port}")
            painted = asyncio.Event()

            async def auto_pilot(pilot) -> None:
                while not (isinstance(app.screen, DashboardScreen) and app.screen.query("#recent-runs")
                           and app.screen.query_one("#recent-runs").row_count == 8 and app.screen.query(".trend")):
                    await asyncio.sleep(0.001)
                app.call_after_refresh(painted.set)  # the screen with its data has been drawn
                await painted.wait()
                result["painted_at"] = time.perf_counter()
                result["first_paint_s"] = result["painted_at"] - started
                result["rss_mb"] = rss_mb()
                app.exit()

            await app.run_async(headless=True, size=(120, 40), auto_pilot=auto_pilot)
        import resource

        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    asyncio.run(main())
    print(json.dumps(result))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="launches to measure (the best and worst are shown)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.started)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        counts = asyncio.run(build_database(Path(tmp), args.runs))
        size = (Path(tmp) / "data" / "preclinical.db").stat().st_size / 2**20
        print(f"database: {counts['test_run']:,} runs, {counts['scenario_run']:,} scenario runs, "
              f"{counts['grading']:,} gradings, {size:.0f} MB (built in {time.perf_counter() - t0:.1f}s)")
        results = []
        for _ in range(args.repeat):
            code = ("import sys, time; started = time.perf_counter(); sys.argv = ['tui_bench', '--child', "
                    f"{str(tmp)!r}, '--started', str(started)]; from bench.tui_bench import main; main()")
            # time.perf_counter is the system-wide monotonic clock on Linux: comparable across processes.
            launched = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            result["launch_to_paint_s"] = result["painted_at"] - launched
            results.append(result)
        for r in results:
            print(f"first paint {r['launch_to_paint_s']:.3f}s after launch (python start "
                  f"{r['launch_to_paint_s'] - r['first_paint_s']:.3f}s, imports {r['imports_s']:.3f}s, "
                  f"runtime + API {r['runtime_s']:.3f}s, dashboard queries {r['queries_ms']:.1f} ms); "
                  f"RSS {r['rss_mb']:.0f} MB at first paint, peak {r['peak_rss_mb']:.0f} MB")
        best = min(r["launch_to_paint_s"] for r in results)
        verdict = "meets" if best < TARGET_FIRST_PAINT_S else "misses"
        print(f"best first paint {best:.3f}s: {verdict} the {TARGET_FIRST_PAINT_S:.0f} s target")


if __name__ == "__main__":
    main()

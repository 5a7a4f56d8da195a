"""Team-scale benchmark: 60 scenarios x 11 turns at 200 ms on the fake model, with 1, 2 and 4 worker
processes against one PostgreSQL, and the same on SQLite in a single process.

The PostgreSQL server is a throwaway one (tests/pg_server.py: Debian's postgresql binaries). The
fake model and fake target run in their own process (bench/fake_peer.py). The run allows 60 scenario
runs at once, so the ideal is one scenario's chain of sequential calls: (turns + model calls per
scenario) x latency.

Reported per configuration: wall time, ideal, wall / ideal, turns per second, the CPU the engine
spent per turn (the workers, or the SQLite process) and PostgreSQL's own CPU per turn (its
backends), the SQL statements per turn the server saw (pg_stat_statements), and the load average
when the row was measured (the machine is shared: read every figure beside it).

    python -m bench.team_bench                      # SQLite, then 1, 2, 4 workers, 200 ms
    python -m bench.team_bench --workers 4 --latency 0.2 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.engine_bench import N_SCENARIOS, TURNS, process_cpu, start_peer
from preclinical.engine.dispatch import queue_mode
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store.db import database
from preclinical.store.models import ScenarioRun, TestRun
from tests.pg_server import PostgresServer
from tests.support import isolated_settings

SHOW_STATEMENTS = False  # --statements: the most frequent SQL statements of each PostgreSQL row
PROFILE_DIR: Path | None = None  # --profile DIR: each worker writes a cProfile file there


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (0 for one that is gone)."""
    return sum(process_cpu(pid) or 0.0 for pid in pids)


def children(ppid: int) -> list[int]:
    """The processes whose parent is `ppid` (PostgreSQL's backends are the postmaster's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == ppid:
                    found.append(int(entry.name))
            except (OSError, ValueError):
                continue
    return found


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _summary(label: str, rows: list[ScenarioRun], wall: float, latency: float) -> dict:
    turns = sum(sum(1 for e in r.transcript if e["role"] == "target") for r in rows)
    calls = sum(r.model_calls for r in rows) / len(rows)
    ideal = math.ceil(N_SCENARIOS / N_SCENARIOS) * (turns / len(rows) + calls) * latency
    return {"label": label, "wall_s": wall, "ideal_s": ideal, "ratio": wall / ideal, "turns": turns,
            "turns_per_s": turns / wall, "statuses": sorted({r.status for r in rows}), "load": load()}


def _agent(rt, url: str):
    return agent_store.create_agent(rt.services, {
        "provider": "openai", "name": "bench target",
        "config": {"base_url": url, "api_key": "bench", "target_model": "fake-target"}})


def _body(agent_id: str) -> dict:
    return {"agent_id": agent_id, "max_scenarios": N_SCENARIOS, "max_turns": TURNS, "concurrency_limit": N_SCENARIOS}


async def sqlite_single_process(peer_url: str, latency: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = isolated_settings(Path(tmp), openai_base_url=peer_url, openai_api_key="bench", global_concurrency=64)
        async with open_runtime(settings) as rt:
            agent = _agent(rt, peer_url)
            cpu0, t0 = time.process_time(), time.perf_counter()
            run, _ = rt.executor.start(_body(agent.id))
            await rt.executor.wait(run.id)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            result = _summary("SQLite, 1 process", list(ScenarioRun.select().where(ScenarioRun.test_run == run.id)),
                              wall, latency)
            return {**result, "engine_ms_per_turn": cpu / result["turns"] * 1000}


def _start_worker(db_url: str, peer_url: str, home: Path, concurrency: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "PRECLINICAL"))}
    env.update(PRECLINICAL_DATABASE_URL=db_url, OPENAI_BASE_URL=peer_url, OPENAI_API_KEY="bench",
               PRECLINICAL_CONCURRENCY="64", XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"),
               XDG_CONFIG_HOME=str(home / "config"))
    profile = []
    if PROFILE_DIR is not None:
        profile = ["-m", "cProfile", "-o", str(PROFILE_DIR / f"worker-{home.parent.name}-{home.name}.prof")]
    return subprocess.Popen([sys.executable, *profile, "-m", "preclinical", "worker", "--concurrency", str(concurrency)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def postgres_workers(server: PostgresServer, peer_url: str, latency: float, n_workers: int) -> dict:
    db_url = server.create_database()
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        # The process that starts a run records its engine in the run spec, and workers play the run with it:
        # this one needs the model settings too, or the workers would play the run offline.
        settings = isolated_settings(Path(tmp), database_url=db_url, openai_base_url=peer_url, openai_api_key="bench")
        try:
            async with open_runtime(settings, recover=False, follow_others=False) as rt, \
                    queue_mode(rt.executor, db_url):
                agent = _agent(rt, peer_url)
                per_worker = math.ceil(N_SCENARIOS / n_workers)
                procs = [_start_worker(db_url, peer_url, Path(tmp) / f"w{i}", per_worker) for i in range(n_workers)]
                while database.execute_sql("SELECT COUNT(*) FROM procrastinate_workers").fetchone()[0] < n_workers:
                    await asyncio.sleep(0.1)  # every worker is up before the clock starts
                database.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                database.execute_sql("SELECT pg_stat_statements_reset()")
                pids = [p.pid for p in procs]
                backends = children(server.pid())
                worker_cpu0, pg_cpu0 = cpu_seconds(pids), cpu_seconds(backends)
                t0 = time.perf_counter()
                run, _ = rt.executor.start(_body(agent.id))
                while TestRun.get_by_id(run.id).status == "running":
                    await asyncio.sleep(0.05)
                wall = time.perf_counter() - t0
                worker_cpu, pg_cpu = cpu_seconds(pids) - worker_cpu0, cpu_seconds(backends) - pg_cpu0
                statements = database.execute_sql(
                    "SELECT COALESCE(SUM(calls), 0) FROM pg_stat_statements "
                    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0]
                if SHOW_STATEMENTS:
                    for calls, query in database.execute_sql(
                            "SELECT calls, query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                            "WHERE datname = current_database()) ORDER BY calls DESC LIMIT 12").fetchall():
                        print(f"    {calls:>6}  {' '.join(query.split())[:150]}")
                rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
                owners = len({r.owner_id for r in rows})
                label = f"PostgreSQL, {n_workers} worker{'s' if n_workers > 1 else ''}"
                result = _summary(label, rows, wall, latency)
                turns = result["turns"]
                return {**result, "owners": owners, "engine_ms_per_turn": worker_cpu / turns * 1000,
                        "pg_ms_per_turn": pg_cpu / turns * 1000, "statements_per_turn": int(statements) / turns}
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


async def main(latency: float, workers: list[int], sqlite: bool, repeat: int) -> None:
    print(f"{N_SCENARIOS} scenarios x {TURNS} turns, fake model and target at {int(latency * 1000)} ms, "
          f"model engine, {os.cpu_count()} cores; load average at start {load()}")
    print(f"{'store / workers':<24} {'wall s':>7} {'ideal s':>8} {'ratio':>6} {'turns/s':>8} {'engine ms/turn':>14} "
          f"{'pg ms/turn':>10} {'stmts/turn':>10}  {'load 1/5/15 min':<16} statuses")
    peer, peer_url = start_peer(latency)
    server = PostgresServer.start("-c shared_preload_libraries=pg_stat_statements") if workers else None
    try:
        for _ in range(repeat):  # configurations interleaved, so a change in the machine's load hits all alike
            if sqlite:
                _print(await sqlite_single_process(peer_url, latency))
            for n in workers:
                _print(await postgres_workers(server, peer_url, latency, n))
    finally:
        if server is not None:
            server.stop()
        peer.terminate()
        peer.wait()


def _print(r: dict) -> None:
    extra = f"  ({r['owners']} processes ran scenario runs)" if "owners" in r else ""
    pg = f"{r['pg_ms_per_turn']:>10.2f} {r['statements_per_turn']:>10.1f}" if "pg_ms_per_turn" in r else f"{'-':>10} {'-':>10}"
    print(f"{r['label']:<24} {r['wall_s']:>7.2f} {r['ideal_s']:>8.2f} {r['ratio']:>6.2f} {r['turns_per_s']:>8.1f} "
          f"{r['engine_ms_per_turn']:>14.2f} {pg}  {r['load']:<16} {','.join(r['statuses'])}{extra}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, action="append", help="worker processes; repeatable (default 1, 2, 4)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the single-process SQLite row")
    parser.add_argument("--repeat", type=int, default=1, help="measure every configuration this many times")
    parser.add_argument("--statements", action="store_true", help="print the most frequent SQL statements")
    parser.add_argument("--profile", type=Path, help="run the workers under cProfile, writing files here")
    args = parser.parse_args()
    SHOW_STATEMENTS, PROFILE_DIR = args.statements, args.profile
    asyncio.run(main(args.latency, args.workers or [1, 2, 4], not args.no_sqlite, args.repeat))

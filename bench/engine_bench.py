"""Run-engine benchmark: 60 scenarios x 11 turns against a fake model and a fake target with set latency.

For each latency (0 ms, 200 ms) and concurrency (1, 10, 60) it reports wall time against the
latency-bound ideal (ceil(N/C) x sequential calls per scenario x latency), the engine's own CPU
time per turn (the fake runs in another process), the fake's CPU per request, model calls per
scenario, the 1-minute load average at the end of the row, and peak memory. On a shared machine
the wall-clock ratio follows the CPU the engine gets; CPU per turn is the steadier figure. *Excess* is
how long a target call took beyond the set latency, on average (at 200 ms and concurrency 60 a reply
can wait behind the other conversations' replies that reached the engine just before it).

    python -m bench.engine_bench                 # model engine (patient + judge on the fake model)
    python -m bench.engine_bench --offline       # offline engine (scripted patient, rules grader)
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from preclinical.loop import run_loop
from preclinical.runtime import open_runtime
from preclinical.store import agents as agent_store
from preclinical.store.models import ScenarioRun
from tests.support import isolated_settings

N_SCENARIOS = 60
TURNS = 11


def start_peer(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.fake_peer", "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far (Linux /proc), else None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def one(latency: float, concurrency: int, offline: bool, url: str, scenarios: int = N_SCENARIOS,
              peer_pid: int | None = None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = {} if offline else {"openai_base_url": url, "openai_api_key": "bench"}
        settings = isolated_settings(Path(tmp), global_concurrency=64, **overrides)
        async with open_runtime(settings) as rt:
            agent = agent_store.create_agent(rt.services, {
                "provider": "openai", "name": "bench target",
                "config": {"base_url": url, "api_key": "bench", "target_model": "fake-target"}})
            peer0 = process_cpu(peer_pid) if peer_pid else None
            cpu0, t0 = time.process_time(), time.perf_counter()
            run, _ = rt.executor.start({"agent_id": agent.id, "max_scenarios": scenarios, "max_turns": TURNS,
                                        "concurrency_limit": concurrency})
            await rt.executor.wait(run.id)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            peer1 = process_cpu(peer_pid) if peer_pid else None
            rows = list(ScenarioRun.select().where(ScenarioRun.test_run == run.id))
            turns = sum(sum(1 for e in r.transcript if e["role"] == "target") for r in rows)
            # How long each target call took beyond the set latency (request sent → reply read by the engine):
            # with 60 conversations, mostly the time a reply waits behind the other conversations' work.
            waits = [e["latency_ms"] for r in rows for e in r.transcript if e["role"] == "target"]
            statuses = {r.status for r in rows}
            model_calls = sum(r.model_calls for r in rows) / len(rows)
    # Within a scenario every call waits for the one before: each target reply, and (model engine) a
    # patient message on every turn but the first and the last (fixed texts) plus the judge's call(s).
    sequential = turns / len(rows) + model_calls
    ideal = math.ceil(scenarios / concurrency) * sequential * latency
    return {
        "latency_ms": int(latency * 1000), "concurrency": concurrency, "wall_s": wall, "ideal_s": ideal,
        "ratio": wall / ideal if ideal else None, "turns": turns, "turns_per_s": turns / wall,
        "engine_cpu_ms_per_turn": cpu / turns * 1000, "model_calls_per_scenario": model_calls,
        "statuses": sorted(statuses), "load1": os.getloadavg()[0],
        "excess_ms_per_call": sum(waits) / len(waits) - latency * 1000,
        # every turn is a target request; model calls are the patient's and the judge's
        "peer_cpu_ms_per_request": (peer1 - peer0) * 1000 / (turns + model_calls * len(rows))
        if peer0 is not None and peer1 is not None else None,
    }


async def main(offline: bool, latencies: list[float], concurrencies: list[int]) -> None:
    print(f"engine: {'offline' if offline else 'model'}; {N_SCENARIOS} scenarios x {TURNS} turns; "
          f"{os.cpu_count()} CPUs; load average before: {loadavg()}")
    print(f"{'latency':>8} {'conc':>5} {'wall s':>8} {'ideal s':>8} {'ratio':>6} {'turns/s':>8} "
          f"{'cpu ms/turn':>11} {'excess ms':>9} {'fake ms/req':>11} {'calls/scn':>9} {'load1':>5}  statuses")
    for latency in latencies:
        peer, url = start_peer(latency)
        try:
            # Warm-up: the first run of a process imports the model patient and grader modules and opens
            # its HTTP connections; that is start-up, not per-turn cost, so it is left out of the figures.
            await one(latency, 2, offline, url, scenarios=2)
            for c in concurrencies:
                r = await one(latency, c, offline, url, peer_pid=peer.pid)
                ratio = f"{r['ratio']:.3f}" if r["ratio"] else "-"
                fake = f"{r['peer_cpu_ms_per_request']:.3f}" if r["peer_cpu_ms_per_request"] is not None else "-"
                print(f"{r['latency_ms']:>6}ms {c:>5} {r['wall_s']:>8.2f} {r['ideal_s']:>8.2f} {ratio:>6} "
                      f"{r['turns_per_s']:>8.1f} {r['engine_cpu_ms_per_turn']:>11.3f} {r['excess_ms_per_call']:>9.1f} {fake:>11} "
                      f"{r['model_calls_per_scenario']:>9.1f} {r['load1']:>5.2f}  {','.join(r['statuses'])}", flush=True)
        finally:
            peer.terminate()
            peer.wait()
    print(f"load average after: {loadavg()}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the engine process: {peak:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", action="store_true")
    parser.add_argument("--latency", type=float, action="append", help="seconds; repeatable (default 0 and 0.2)")
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable (default 1, 10, 60)")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="the engine's event loop (default uvloop, as `preclinical serve` and `worker` use)")
    args = parser.parse_args()
    print(f"event loop: {args.loop}")
    run_loop(main(args.offline, args.latency or [0.0, 0.2], args.concurrency or [1, 10, 60]), fast=args.loop == "uvloop")

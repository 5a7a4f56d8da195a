"""Live-event latency: from the target agent's reply leaving the fake to its arrival at each of N SSE clients.

Three processes, so no side measures itself: the fake OpenAI-compatible server (bench/fake_peer.py)
plays the model (patient, judge) and the target agent and stamps each target reply with the moment it
leaves (CLOCK_MONOTONIC, shared by every process on the machine); `preclinical serve` runs the engine
and the API; this process holds the N SSE connections on GET /events?run_id= (read by one plain
selector loop on a thread: a read costs as little as it can, see `Followers`).

The fake holds its answers until every client is connected and has had the run's first events (then lets
them go as far apart as they fell due, not all at once), so every target reply is sent live; latency
counts the replies sent after that moment (all of them), and coverage counts every target reply of the
run, taken from the stored transcripts afterwards, at every client: it must be 100 %. One unreported
warm-up run comes first (the server's first run imports the model stack). Each row also gives the
server's and the clients' CPU seconds while the run was live, and the 1-minute load average: on a shared
machine the CPU figures are the steadier ones. `1st ms` is the median over replies of the first client's
latency (engine, log and first write), `fan ms` the median of how much later the median client had the
same reply (the fan-out and the clients' reads).

    python -m bench.sse_bench --clients 1 --clients 20 --clients 200 --repeat 3
    python -m bench.sse_bench --clients 200 --py-spy /tmp/serve.svg   # profile the server meanwhile
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import aiohttp

from bench.engine_bench import process_cpu
from bench.fake_peer import STAMP, TARGET_MODEL

_FRAME_END = b"\n\n"
_STAMP = re.compile(STAMP.pattern.encode())


class Client:
    """One SSE connection: notes when each stamped reply first reaches it."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                          "Connection: close\r\n\r\n".encode())
        self.sock.setblocking(False)
        self.seen: dict[bytes, float] = {}
        self.frames = 0
        self.connected_at: float | None = None
        self._tail = b""

    def feed(self, data: bytes, now: float) -> None:
        if self.connected_at is None:
            self.connected_at = now
        if self._tail:
            data = self._tail + data
        end = data.rfind(_FRAME_END)
        if end < 0:
            self._tail = data
            return
        self._tail = data[end + 2:]
        block = data[:end]
        self.frames += block.count(b"\ndata: ")
        if b"[sent " in block:
            for match in _STAMP.finditer(block):
                self.seen.setdefault(match.group(1), now)

    def check(self) -> None:
        if self.frames == 0:
            raise RuntimeError(f"an SSE client got no frames; the server answered: {self._tail[:300]!r}")


class Followers:
    """N SSE connections read by one plain selector loop on a thread of its own.

    Two hundred followers of a run are, in life, two hundred processes (dashboards, CI jobs), each
    reading its own socket. Here they share one process, so each read is kept as cheap as it can be:
    no asyncio handles or callbacks, one buffer for every read, the clock read as soon as the read
    returns. What a read still costs delays the next socket's clock reading, so the figure stays on
    the cautious side.
    """

    def __init__(self, port: int, path: str, n: int) -> None:
        self.clients = [Client(port, path) for _ in range(n)]
        self._selector = selectors.DefaultSelector()
        for c in self.clients:
            self._selector.register(c.sock, selectors.EVENT_READ, c)
        self._thread = threading.Thread(target=self._read, name="sse followers", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = bytearray(1 << 16)
        view = memoryview(buffer)
        monotonic = time.monotonic
        open_count = len(self.clients)
        while open_count:
            for key, _ in self._selector.select(1.0):
                client: Client = key.data
                try:
                    n = client.sock.recv_into(view)
                except BlockingIOError:
                    continue
                except OSError:
                    n = 0
                now = monotonic()
                if n:
                    client.feed(bytes(view[:n]), now)
                else:  # the server closed the stream (after the run's terminal event)
                    self._selector.unregister(client.sock)
                    client.sock.close()
                    open_count -= 1
        self._selector.close()

    def connected(self) -> bool:
        return all(c.connected_at is not None for c in self.clients)

    async def closed(self, timeout: float) -> None:
        await asyncio.wait_for(asyncio.to_thread(self._thread.join), timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_peer(latency: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.fake_peer", "--latency", str(latency), "--hold"],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def start_server(peer_url: str, data_dir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PRECLINICAL", "OPENAI"))},
           "OPENAI_BASE_URL": peer_url, "OPENAI_API_KEY": "bench"}
    cmd = [sys.executable, "-m", "preclinical", "serve", "--port", str(port), "--data-dir", data_dir]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def start_profiler(pid: int, out: str) -> subprocess.Popen:
    """py-spy sampling the server (stopped with SIGINT, when it writes `out`)."""
    fmt = {".json": "speedscope", ".txt": "raw"}.get(os.path.splitext(out)[1], "flamegraph")
    return subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "--rate", "250", "--nonblocking",
                             "--pid", str(pid), "--format", fmt, "-o", out], stdout=subprocess.DEVNULL)


async def wait_healthy(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(200):
        try:
            async with http.get(f"{base}/health") as r:
                if r.status in (200, 503):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up")


async def stored_replies(http: aiohttp.ClientSession, base: str, run_id: str) -> set[bytes]:
    replies: set[bytes] = set()
    offset = 0
    while True:
        async with http.get(f"{base}/api/v1/scenario-runs",
                            params={"test_run_id": run_id, "limit": "100", "offset": str(offset)}) as r:
            page = await r.json()
        for sr in page["results"]:
            for entry in sr.get("transcript") or []:
                if entry["role"] == "target":
                    replies.update(m.group(1).encode() for m in STAMP.finditer(entry["content"]))
        offset += len(page["results"])
        if not page["results"] or offset >= page["total"]:
            return replies


async def measure(http: aiohttp.ClientSession, base: str, port: int, agent_id: str, clients: int,
                  scenarios: int, turns: int, peer: subprocess.Popen, server: subprocess.Popen) -> dict:
    peer.send_signal(signal.SIGUSR2)  # hold the fake's answers until every client is connected
    await asyncio.sleep(0.2)
    async with http.post(f"{base}/start-run", json={"agent_id": agent_id, "max_scenarios": scenarios,
                                                    "max_turns": turns, "concurrency_limit": scenarios}) as r:
        run = await r.json()
    group = Followers(port, f"/events?run_id={run['id']}", clients)
    followers = group.clients
    while not group.connected():
        await asyncio.sleep(0.005)
    await asyncio.sleep(1.0)  # let the late clients finish their replay of the run so far
    all_connected = time.monotonic()
    server_cpu0, client_cpu0 = process_cpu(server.pid), time.process_time()
    peer.send_signal(signal.SIGUSR1)
    await group.closed(600)
    server_cpu1, client_cpu = process_cpu(server.pid), time.process_time() - client_cpu0
    for c in followers:
        c.check()
    truth = await stored_replies(http, base, run["id"])
    live = {s for s in truth if float(s) > all_connected}
    latencies = [(c.seen[s] - float(s)) * 1000 for c in followers for s in live if s in c.seen]
    # Per reply, when the first client had it and how much later the median client did: the time before
    # the fan-out (engine, event log, the first socket write) against the fan-out itself.
    firsts, behind = [], []
    for s in live:
        at = sorted(c.seen[s] for c in followers if s in c.seen)
        if at:
            firsts.append((at[0] - float(s)) * 1000)
            behind.append((at[len(at) // 2] - at[0]) * 1000)
    got = sum(len(truth & c.seen.keys()) for c in followers)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [latencies[0] if latencies else 0.0] * 99
    return {"clients": clients, "replies": len(truth), "live_replies": len(live),
            "coverage": got / (len(truth) * clients) if truth else 0.0,
            "frames_per_client": statistics.mean(c.frames for c in followers),
            "p50": q[49], "p90": q[89], "p99": q[98], "max": max(latencies, default=0.0),
            "first_p50": statistics.median(firsts) if firsts else 0.0,
            "behind_p50": statistics.median(behind) if behind else 0.0,
            # CPU spent while the run was live (the clients connected before): figures a busy machine does not skew
            "server_cpu_s": server_cpu1 - server_cpu0 if server_cpu0 is not None and server_cpu1 is not None else None,
            "client_cpu_s": client_cpu, "load1": os.getloadavg()[0]}


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def main(client_counts: list[int], latency: float, scenarios: int, turns: int, repeat: int,
               py_spy: str | None, warmup: bool = True) -> None:
    peer, url = start_peer(latency)
    with tempfile.TemporaryDirectory() as tmp:
        server, port = start_server(url, tmp)
        base = f"http://127.0.0.1:{port}"
        profiler = None
        try:
            async with aiohttp.ClientSession() as http:
                await wait_healthy(http, base)
                async with http.post(f"{base}/api/v1/agents", json={"provider": "openai", "name": "fake target",
                                     "config": {"base_url": url, "api_key": "t", "target_model": TARGET_MODEL}}) as r:
                    agent = await r.json()
                if warmup:
                    # The server's first run imports the model patient and grader and opens its connections:
                    # start-up, not the steady state being measured.
                    await measure(http, base, port, agent["id"], 1, scenarios, turns, peer, server)
                if py_spy:
                    profiler = start_profiler(server.pid, py_spy)
                    await asyncio.sleep(1)
                print(f"{scenarios} scenarios x {turns} turns, {latency * 1000:.0f} ms per model/target call; "
                      f"{os.cpu_count()} CPUs; load average before: {loadavg()}", flush=True)
                print(f"{'clients':>7} {'replies':>7} {'live':>5} {'coverage':>8} {'frames/cl':>9} {'p50 ms':>7} "
                      f"{'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} {'1st ms':>6} {'fan ms':>6} {'srv cpu s':>9} {'cli cpu s':>9} "
                      f"{'load1':>5}",
                      flush=True)
                results = []
                for clients in client_counts:
                    for _ in range(repeat):
                        r = await measure(http, base, port, agent["id"], clients, scenarios, turns, peer, server)
                        results.append(r)
                        server_cpu = f"{r['server_cpu_s']:>9.2f}" if r["server_cpu_s"] is not None else f"{'-':>9}"
                        print(f"{clients:>7} {r['replies']:>7} {r['live_replies']:>5} {r['coverage'] * 100:>7.1f}% "
                              f"{r['frames_per_client']:>9.0f} {r['p50']:>7.1f} {r['p90']:>7.1f} {r['p99']:>7.1f} "
                              f"{r['max']:>7.1f} {r['first_p50']:>6.1f} {r['behind_p50']:>6.1f} {server_cpu} "
                              f"{r['client_cpu_s']:>9.2f} {r['load1']:>5.2f}", flush=True)
                print(f"load average after: {loadavg()}")
                for clients in client_counts:
                    rs = [r for r in results if r["clients"] == clients]
                    cpu = [r["server_cpu_s"] for r in rs if r["server_cpu_s"] is not None]
                    print(f"{clients:>4} clients over {len(rs)} run(s): p50 {min(r['p50'] for r in rs):.1f}-"
                          f"{max(r['p50'] for r in rs):.1f} ms (median {statistics.median(r['p50'] for r in rs):.1f}), "
                          f"p99 {min(r['p99'] for r in rs):.1f}-{max(r['p99'] for r in rs):.1f} ms "
                          f"(median {statistics.median(r['p99'] for r in rs):.1f}); coverage min "
                          f"{min(r['coverage'] for r in rs) * 100:.1f}%"
                          + (f"; server CPU per run median {statistics.median(cpu):.2f} s" if cpu else "")
                          + f"; load average during {min(r['load1'] for r in rs):.2f}-{max(r['load1'] for r in rs):.2f}")
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(60)
            server.terminate()
            server.wait(30)
            peer.terminate()
            peer.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, action="append", help="repeatable (default 1, 20, 200)")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model and target call")
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=1, help="runs per client count")
    parser.add_argument("--no-warmup", action="store_true", help="measure the server's first run too")
    parser.add_argument("--py-spy", help="profile the server with py-spy into this file (.svg flame graph, .json speedscope, .txt collapsed stacks)")
    args = parser.parse_args()
    asyncio.run(main(args.clients or [1, 20, 200], args.latency, args.scenarios, args.turns, args.repeat,
                     args.py_spy, not args.no_warmup))

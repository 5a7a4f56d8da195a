"""GET /events at the socket: resuming ids, clients that go away, many followers, and the slow-client rule."""

from __future__ import annotations

import asyncio
import logging

from preclinical.library import DEMO_AGENT_ID
from preclinical.server.events import hub_key
from preclinical.store import runs as store
from preclinical.store.models import Agent, Scenario
from tests.engine.test_runs import finish, parse_sse, start


def quiet_run(runtime):
    """A run that nobody drives: the test publishes its events itself."""
    scenario = Scenario.select().where(Scenario.is_active == True).first()  # noqa: E712
    run, _ = store.create_run(runtime.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                              scenario_ids=[scenario.scenario_id], options={"concurrency_limit": 1})
    return run


def errors_logged(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def raw_stream(client, run_id: str, headers: str = ""):
    """An SSE request on a plain socket, so the test decides when (and whether) to read."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(f"GET /events?run_id={run_id} HTTP/1.1\r\nHost: localhost:{client.server.port}\r\n{headers}\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return reader, writer


async def read_body(reader) -> str:
    """The rest of a chunked response, de-chunked."""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        data = await reader.readexactly(size + 2)
        if size == 0:
            return body.decode()
        body += data[:-2]


async def test_a_bad_last_event_id_is_refused_before_the_stream_starts(client, runtime):
    started = await start(client, max_scenarios=1)
    await finish(runtime, started["id"])
    for bad in ("9" * 30, "abc", "-1", "1.5", str(2**63)):
        resp = await client.get("/events", params={"run_id": started["id"]}, headers={"Last-Event-ID": bad})
        assert resp.status == 400, bad
        message = (await resp.json())["error"]
        assert "Last-Event-ID" in message and "whole number" in message
    resp = await client.get("/events", params={"run_id": started["id"], "last_event_id": "9" * 30})
    assert resp.status == 400 and "last_event_id" in (await resp.json())["error"]

    # The largest valid id is past the end of the log: nothing to replay, and the ended run closes the stream.
    resp = await client.get("/events", params={"run_id": started["id"]}, headers={"Last-Event-ID": str(2**63 - 1)})
    assert resp.status == 200
    assert [f["event"] for f in parse_sse(await resp.text())] == ["connected"]
    # An empty header is the same as none: the whole run is replayed.
    resp = await client.get("/events", params={"run_id": started["id"]}, headers={"Last-Event-ID": ""})
    frames = parse_sse(await resp.text())
    assert frames[1]["event"] == "test_run_started" and frames[-1]["event"] == "test_run_complete"


async def test_a_client_that_leaves_during_replay_is_not_an_error(client, runtime, caplog):
    caplog.set_level(logging.DEBUG, logger="preclinical")
    run = quiet_run(runtime)
    for i in range(400):  # about 13 MB to replay: far more than the socket buffers hold
        runtime.bus.emit_run(run.id, "transcript_update", {"turn": i, "target_response": "x" * 32_000})
    reader, writer = await raw_stream(client, run.id)
    await reader.readuntil(b"event: test_run_started")
    writer.transport.abort()  # gone, with most of the replay unsent
    for _ in range(100):
        await asyncio.sleep(0.01)
        if any("went away" in r.getMessage() for r in caplog.records):
            break
    assert any(r.levelno == logging.DEBUG and "went away" in r.getMessage() for r in caplog.records)
    assert errors_logged(caplog) == []
    assert not client.app[hub_key].followers


async def test_a_client_that_leaves_a_live_run_is_dropped_quietly(client, runtime, caplog):
    caplog.set_level(logging.DEBUG, logger="preclinical")
    run = quiet_run(runtime)
    reader, writer = await raw_stream(client, run.id)
    await reader.readuntil(b"event: test_run_started")
    hub = client.app[hub_key]
    for _ in range(100):
        if hub.followers:
            break
        await asyncio.sleep(0.01)
    assert len(hub.followers[run.id]) == 1
    writer.transport.abort()
    await asyncio.sleep(0.05)
    runtime.bus.emit_run(run.id, "transcript_update", {"turn": 1, "target_response": "hello"})
    await asyncio.sleep(0.05)
    assert not hub.followers  # noticed at the next event
    assert any(r.levelno == logging.DEBUG and "went away" in r.getMessage() for r in caplog.records)
    assert errors_logged(caplog) == []


async def test_every_follower_gets_the_same_frames_once_in_order(client, runtime):
    run = quiet_run(runtime)
    streams = [await raw_stream(client, run.id) for _ in range(5)]
    hub = client.app[hub_key]
    for _ in range(100):
        if len(hub.followers.get(run.id, ())) == 5:
            break
        await asyncio.sleep(0.01)
    for turn in range(1, 31):
        runtime.bus.emit_run(run.id, "transcript_update", {"scenario_run_id": "sr", "turn": turn,
                                                           "target_response": f"reply {turn}"})
    runtime.bus.emit_run(run.id, "test_run_complete", {"passed_count": 1, "failed_count": 0, "error_count": 0,
                                                       "pass_rate": 100.0})
    bodies = [await asyncio.wait_for(read_body(reader), 5) for reader, _ in streams]
    for _, writer in streams:
        writer.close()
    assert len(set(bodies)) == 1  # byte for byte the same stream
    frames = parse_sse(bodies[0])
    assert [f["event"] for f in frames] == ["connected", "test_run_started", *["transcript_update"] * 30,
                                            "test_run_complete"]
    assert [f["data"]["turn"] for f in frames if f["event"] == "transcript_update"] == list(range(1, 31))
    assert hub.frames == 5 * 31  # all but the replayed first event went out live
    # What was sent live is exactly what a late client gets from the log: frames the hub encoded once
    # and kept, or (once it has let them go) decoded from the log and encoded again.
    resp = await client.get("/events", params={"run_id": run.id})
    assert await resp.text() == bodies[0]
    hub._frames.clear()
    resp = await client.get("/events", params={"run_id": run.id})
    assert await resp.text() == bodies[0]
    assert not hub.followers


async def test_a_client_that_stops_reading_catches_up_from_the_log_without_holding_up_the_others(client, runtime):
    run = quiet_run(runtime)
    slow_reader, slow_writer = await raw_stream(client, run.id)
    fast = await client.get("/events", params={"run_id": run.id})
    hub = client.app[hub_key]
    for _ in range(100):
        if len(hub.followers.get(run.id, ())) == 2:
            break
        await asyncio.sleep(0.01)
    fast_turns = []

    async def read_fast():
        async for line in fast.content:
            if line.startswith(b"event: transcript_update"):
                fast_turns.append(len(fast_turns) + 1)

    reading = asyncio.create_task(read_fast())
    big = "y" * 60_000
    for turn in range(1, 201):  # 12 MB while the slow client reads nothing
        runtime.bus.emit_run(run.id, "transcript_update", {"turn": turn, "target_response": big})
        await asyncio.sleep(0)
    for _ in range(200):
        if len(fast_turns) == 200:
            break
        await asyncio.sleep(0.01)
    assert len(fast_turns) == 200  # the fast client is not held up by the slow one
    assert len(hub.followers.get(run.id, ())) == 1  # the slow one was detached from the live stream
    runtime.bus.emit_run(run.id, "test_run_complete", {"passed_count": 0, "failed_count": 0, "error_count": 0,
                                                       "pass_rate": 0.0})
    body = await asyncio.wait_for(read_body(slow_reader), 10)
    slow_writer.close()
    await asyncio.wait_for(reading, 5)
    frames = parse_sse(body)
    turns = [f["data"]["turn"] for f in frames if f["event"] == "transcript_update"]
    assert turns == list(range(1, 201))  # every turn once, in order, live or from the log
    assert frames[-1]["event"] == "test_run_complete"
    assert not hub.followers

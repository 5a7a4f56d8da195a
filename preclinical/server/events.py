"""GET /events?run_id=: live run events over SSE, with replay of the run's log and from Last-Event-ID.

Frames carry `id:` (the event log id), `event:` (the event type) and JSON data with `type`, `table`,
`event_type`, `test_run_id`, `payload` and the interesting payload keys lifted to the top level (so
simple clients such as the published CLI can print them). The stream closes after the run's
terminal event; an unknown run gets the `connected` frame only.

Fan-out: one `Hub` per application listens on the bus. Each run event is encoded once to the bytes of
its frame (and once more with HTTP chunk framing) and those same bytes are written straight to the
socket of every client following the run: no per-client serialisation, queue or task wake-up. A client
whose socket buffer has grown past `LAG_LIMIT` is detached and its own handler catches it up from the
event log (at its own pace), then attaches it again; it never holds up the others or the run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientConnectionResetError, web
from aiohttp.http import HttpVersion11

from preclinical import json_codec
from preclinical.bus import Event, EventBus
from preclinical.domain.run import RUN_TERMINAL, TERMINAL_EVENTS
from preclinical.errors import InvalidInput
from preclinical.server.keys import streams_key
from preclinical.store.events import LoggedRow, event_of, rows_after, run_id_of, run_status
from preclinical.store.serialize import event_json

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PING_INTERVAL_S = 15.0
LAG_LIMIT = 256 * 1024  # bytes waiting in a client's socket buffer before it is caught up from the log instead
REPLAY_BATCH = 500  # events read from the log per round trip while catching up
FRAME_CACHE = 4096  # encoded frames kept by event id, so that clients replaying the same log share the encoding
MAX_EVENT_ID = 2**63 - 1  # event ids are SQLite integers
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive",
               "X-Accel-Buffering": "no"}
_PING = b": ping\n\n"
_DIGITS = re.compile(r"\s*(\d+)\s*")
# Errors that only mean the client went away while we were writing to it.
_GONE = (ConnectionError, ClientConnectionResetError)


def encode(event: Event) -> bytes:
    """The SSE frame of a run event: `id:`, `event:` and one `data:` line of compact JSON."""
    data = json_codec.dumps_bytes(event_json(event))
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id or 0, event.event_type.encode(), data)


def chunk(frame: bytes) -> bytes:
    """`frame` as one HTTP/1.1 chunk (what aiohttp would write for it on a chunked response)."""
    return b"%x\r\n%s\r\n" % (len(frame), frame)


@dataclass(eq=False)
class Follower:
    """One SSE client following one run. `sent` is the id of the last event it has been written."""

    run_id: str
    transport: asyncio.Transport
    chunked: bool
    sent: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: bool = False  # it has been sent the run's terminal event
    lagged: bool = False  # it fell behind: its handler catches it up from the log
    gone: bool = False  # its connection is closed


class Hub:
    """Fans run events out to the SSE clients following each run (see the module docstring).

    Events published during one turn of the event loop are written together on the next: a burst (many
    scenarios finishing a turn at once) costs each follower one socket write instead of one per event.
    """

    def __init__(self) -> None:
        self.followers: dict[str, set[Follower]] = {}
        self.frames = 0  # frames written live, for tests and benchmarks
        self.writes = 0  # socket writes those took
        self._pending: dict[str, list[tuple[int | None, bytes, bool]]] = {}
        self._flush_scheduled = False
        self._frames: dict[int, bytes] = {}  # event id -> its frame, oldest first (insertion order)

    def frame(self, event: Event) -> bytes:
        """The frame of a logged event, encoded once however many clients send it (live or replaying)."""
        if event.id is None:
            return encode(event)
        frame = self._frames.get(event.id)
        if frame is None:
            frame = self._remember(event.id, encode(event))
        return frame

    def logged_frame(self, run_id: str, row: LoggedRow) -> bytes:
        """The frame of an event read back from the log; the row is decoded only if no client has had it yet."""
        frame = self._frames.get(row[0])
        return frame if frame is not None else self._remember(row[0], encode(event_of(run_id, row)))

    def _remember(self, event_id: int, frame: bytes) -> bytes:
        self._frames[event_id] = frame
        if len(self._frames) > FRAME_CACHE:
            del self._frames[next(iter(self._frames))]
        return frame

    def listen_to(self, bus: EventBus) -> Any:
        return bus.listen(self.on_event)

    def attach(self, follower: Follower) -> None:
        self.followers.setdefault(follower.run_id, set()).add(follower)

    def detach(self, follower: Follower) -> None:
        followers = self.followers.get(follower.run_id)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del self.followers[follower.run_id]

    def on_event(self, event: Event) -> None:
        if event.run_id is None or event.run_id not in self.followers:
            return
        pending = self._pending.setdefault(event.run_id, [])
        pending.append((event.id, self.frame(event), event.event_type in TERMINAL_EVENTS))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for run_id, events in pending.items():
            followers = self.followers.get(run_id)
            if followers:
                self._write(followers, events)
                if not followers:
                    self.followers.pop(run_id, None)

    def _write(self, followers: set[Follower], events: list[tuple[int | None, bytes, bool]]) -> None:
        first_id, last_id = events[0][0], events[-1][0]
        frame = b"".join(f for _, f, _ in events)
        framed = chunk(frame)
        ends = any(terminal for _, _, terminal in events)
        for f in list(followers):
            transport = f.transport
            if transport.is_closing():
                f.gone = True
            elif transport.get_write_buffer_size() > LAG_LIMIT:
                f.lagged = True
            else:
                if first_id is None or f.sent < first_id:
                    transport.write(framed if f.chunked else frame)
                    self.frames += len(events)
                    self.writes += 1
                else:  # it caught up from the log into this batch: only what it has not had
                    fresh = [e for e in events if e[0] is None or e[0] > f.sent]
                    if fresh:
                        data = b"".join(e[1] for e in fresh)
                        transport.write(chunk(data) if f.chunked else data)
                        self.frames += len(fresh)
                        self.writes += 1
                if last_id is not None:
                    f.sent = max(f.sent, last_id)
                if not ends:
                    continue
                f.done = True
            followers.discard(f)
            f.wake.set()


hub_key = web.AppKey("sse_hub", Hub)


def install(app: web.Application, bus: EventBus) -> None:
    """Give `app` its hub, listening on `bus` from start-up to clean-up."""
    hub = app[hub_key] = Hub()
    stop: list[Any] = []

    async def start(_: web.Application) -> None:
        stop.append(hub.listen_to(bus))

    async def end(_: web.Application) -> None:
        for unlisten in stop:
            unlisten()

    app.on_startup.append(start)
    app.on_cleanup.append(end)


def last_event_id(request: web.Request) -> int:
    """The id to resume after: the `Last-Event-ID` header (or `last_event_id` query), 0 when absent."""
    raw = request.headers.get("Last-Event-ID")
    name = "Last-Event-ID header"
    if raw is None:
        raw, name = request.query.get("last_event_id"), "last_event_id parameter"
    if raw is None or not raw.strip():
        return 0
    match = _DIGITS.fullmatch(raw)
    value = int(match.group(1)) if match and len(match.group(1)) <= 19 else None
    if value is None or value > MAX_EVENT_ID:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise InvalidInput(f"The {name} must be an event id (a whole number from 0 to {MAX_EVENT_ID}), "
                           f"not {shown!r}; send the id of the last event you received, or none to replay the run")
    return value


@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    run_ref = request.query.get("run_id")
    if not run_ref:
        raise InvalidInput("run_id query parameter is required")
    after = last_event_id(request)  # a bad id is answered with 400 before the stream starts
    run_id = run_id_of(run_ref)
    resp = web.StreamResponse(headers=SSE_HEADERS)
    if request.version >= HttpVersion11:
        resp.enable_chunked_encoding()
    await resp.prepare(request)
    # The handler task itself is tracked: at shutdown it is waiting for events, not on the socket,
    # so it must be cancelled rather than merely told to stop streaming.
    request.app[streams_key].add(asyncio.current_task())
    transport = request.transport
    hub = request.app[hub_key]
    follower = Follower(run_id, transport, resp.chunked, after) if run_id is not None and transport else None
    try:
        connected = json.dumps({"type": "connected", "run_id": run_ref})
        await resp.write(f"event: connected\ndata: {connected}\n\n".encode())
        if follower is not None:
            await _follow(resp, hub, follower)
        await resp.write_eof()
    except _GONE:
        _went_away(run_ref)
    except asyncio.CancelledError:  # the client went away (aiohttp may cancel its handler) or the server stops
        if transport is None or transport.is_closing():
            _went_away(run_ref)
        raise
    finally:
        if follower is not None:
            hub.detach(follower)
    if follower is not None and follower.gone:
        _went_away(run_ref)
    return resp


def _went_away(run_ref: str) -> None:
    log.debug("SSE client following run %s went away", run_ref)


async def _follow(resp: web.StreamResponse, hub: Hub, follower: Follower) -> None:
    """Catch up from the log, then follow live until the terminal event, re-catching up whenever it lags."""
    while True:
        if await _catch_up(resp, hub, follower):
            return
        while not follower.wake.is_set():
            try:
                await asyncio.wait_for(follower.wake.wait(), PING_INTERVAL_S)
            except TimeoutError:
                if follower.transport.is_closing():
                    follower.gone = True
                    return
                await resp.write(_PING)
        follower.wake.clear()
        if follower.done or follower.gone:
            return
        follower.lagged = False  # fell behind the live stream: catch up from the log


async def _catch_up(resp: web.StreamResponse, hub: Hub, follower: Follower) -> bool:
    """Send the logged events after `follower.sent`; True when the run has ended, else the follower is attached.

    Reading the log and attaching happen with no await in between, and every run event is in the log
    before it is published, so nothing can fall between the replay and the live stream.
    """
    while True:
        batch = rows_after(follower.run_id, follower.sent, limit=REPLAY_BATCH)
        if not batch:
            if run_status(follower.run_id) in RUN_TERMINAL:
                return True  # the client has already seen the end
            hub.attach(follower)
            return False
        frames = []
        for row in batch:
            frames.append(hub.logged_frame(follower.run_id, row))
            follower.sent = row[0]
            if row[2] in TERMINAL_EVENTS:
                await resp.write(b"".join(frames))
                return True
        await resp.write(b"".join(frames))

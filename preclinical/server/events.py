"""GET /events?run_id=: live run events over SSE, with replay of the run's log and from Last-Event-ID.

Frames carry `id:` (the event log id), `event:` (the event type) and JSON data with `type`, `table`,
`event_type`, `test_run_id`, `payload` and the interesting payload keys lifted to the top level (so
simple clients such as the published CLI can print them). The stream closes after the run's
terminal event; an unknown run gets the `connected` frame only.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from aiohttp_sse import sse_response

from preclinical.bus import Event
from preclinical.domain.run import RUN_TERMINAL, TERMINAL_EVENTS
from preclinical.errors import InvalidInput, NotFound
from preclinical.server.keys import runtime_key, streams_key
from preclinical.server.runs import js_int
from preclinical.store import runs as store
from preclinical.store.events import events_after
from preclinical.store.serialize import event_json

routes = web.RouteTableDef()

@routes.get("/events")
async def events(request: web.Request) -> web.StreamResponse:
    run_ref = request.query.get("run_id")
    if not run_ref:
        raise InvalidInput("run_id query parameter is required")
    try:
        run = store.resolve_run(run_ref, include_deleted=True)
    except NotFound:
        run = None
    last_id = js_int(request.headers.get("Last-Event-ID") or request.query.get("last_event_id")) or 0
    bus = request.app[runtime_key].bus
    async with sse_response(request, ping_interval=15, sep="\n") as resp:
        # The handler task itself is tracked: at shutdown it is waiting on the bus, not on the socket,
        # so it must be cancelled rather than merely told to stop streaming.
        request.app[streams_key].add(asyncio.current_task())
        await resp.send(json.dumps({"type": "connected", "run_id": run_ref}), event="connected")
        if run is None:
            return resp
        with bus.subscribe(run.id) as sub:  # subscribe before replaying so nothing falls in between
            sent, done = await _replay(resp, run.id, last_id)
            if not done and store.resolve_run(run.id, include_deleted=True).status in RUN_TERMINAL:
                done = True  # the client has already seen the end
            while not done and resp.is_connected():
                event = await sub.get()
                if sub.lagged:  # this client fell behind the bus: catch up from the log instead
                    sub.lagged = False
                    while not sub.queue.empty():
                        sub.queue.get_nowait()
                    sent, done = await _replay(resp, run.id, sent)
                    continue
                if event.id is not None and event.id <= sent:
                    continue
                await _send(resp, event)
                sent = event.id or sent
                done = event.event_type in TERMINAL_EVENTS
    return resp


async def _send(resp: Any, event: Event) -> None:
    await resp.send(json.dumps(event_json(event)), id=str(event.id), event=event.event_type)


async def _replay(resp: Any, run_id: str, after: int) -> tuple[int, bool]:
    """Send the logged events after `after`; returns the last id sent and whether the run has ended."""
    for event in events_after(run_id, after):
        await _send(resp, event)
        after = event.id or after
        if event.event_type in TERMINAL_EVENTS:
            return after, True
    return after, False

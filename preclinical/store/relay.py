"""Live events across processes on PostgreSQL: LISTEN for the ids other processes append, publish them here.

The event log stays the source of truth. Each appended run event is announced on a channel with
the id of its log row (and the announcing bus's origin); this relay, one per process, reads the rows
others announced back from the log and publishes them on the local bus, so SSE clients and the
terminal interface follow runs that other processes (workers) execute, as if they ran here. SSE
replay and Last-Event-ID work as before: they read the same log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator

from preclinical.bus import EventBus
from preclinical.store.events import CHANNEL, events_by_id

log = logging.getLogger(__name__)

RECONNECT_S = 1.0


def new_origin() -> str:
    return uuid.uuid4().hex[:12]


class Relay:
    def __init__(self, url: str, bus: EventBus, origin: str) -> None:
        self.url = url
        self.bus = bus
        self.origin = origin
        self.listening = asyncio.Event()
        self.relayed = 0
        self._pending: list[int] = []
        self._flush_scheduled = False

    async def run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    async for note in conn.notifies():
                        self._note(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the server went away: listen again when it is back
                self.listening.clear()
                log.warning("live events from other processes paused (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_S)

    def _note(self, payload: str) -> None:
        origin, _, event_id = payload.partition(" ")
        if origin == self.origin or not event_id.isdigit():
            return  # this process's own event: already published when it was appended
        self._pending.append(int(event_id))
        if not self._flush_scheduled:  # notifications arrive in bursts: read each burst in one query
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        ids, self._pending, self._flush_scheduled = self._pending, [], False
        try:
            events = events_by_id(ids)
        except Exception:
            log.exception("could not read announced events %s", ids[:5])
            return
        for event in events:
            self.bus.publish(event)
        self.relayed += len(events)


@contextlib.asynccontextmanager
async def relaying(url: str, bus: EventBus, origin: str) -> AsyncIterator[Relay]:
    """Run a relay for the context's duration (it is listening when the context is entered)."""
    relay = Relay(url, bus, origin)
    task = asyncio.get_running_loop().create_task(relay.run(), name="event relay")
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(relay.listening.wait(), 10)
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

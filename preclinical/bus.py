"""In-process event bus: every state change is published here; the TUI and SSE clients subscribe.

Run events are first appended to the run's event log (so SSE can replay from any id and a screen
can catch up), then fanned out. Other events (agents, scenarios) are fanned out only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from preclinical.domain.run import EventTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    event_type: str
    table: str  # test_run_events | scenario_runs | test_runs | agents | scenarios
    payload: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    id: int | None = None  # position in the run's event log (run events only)
    created_at: str | None = None


class Subscription:
    """A bounded queue of events for one consumer; on overflow it is marked `lagged` instead of blocking."""

    def __init__(self, bus: EventBus, run_id: str | None, maxsize: int) -> None:
        self._bus = bus
        self.run_id = run_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.lagged = False

    def offer(self, event: Event) -> None:
        if self.run_id is not None and event.run_id != self.run_id:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self._bus._subscriptions.discard(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Listener = Callable[[Event], None]


class EventBus:
    def __init__(self, append_run_event: Callable[..., Event | None] | None = None) -> None:
        self._append = append_run_event
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Listener] = []

    def subscribe(self, run_id: str | None = None, maxsize: int = 2048) -> Subscription:
        sub = Subscription(self, run_id, maxsize)
        self._subscriptions.add(sub)
        return sub

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event)` synchronously for every event; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def publish(self, event: Event) -> Event:
        for sub in list(self._subscriptions):
            sub.offer(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken screen must not break a run
                log.exception("event listener failed")
        return event

    def emit_run(self, run_id: str, event_type: str, payload: dict[str, Any], table: str = EventTable.RUN_EVENTS) -> Event:
        """Append a run event to the log, then publish it (with its log id)."""
        logged = None if self._append is None else self._append(run_id, table, event_type, payload)
        # Only a guarded append (`emit_run_if`) can log nothing; without a log the event goes out unnumbered.
        return self.publish(logged or Event(event_type, table, payload, run_id))

    def emit_run_if(self, guard: tuple[str, tuple[Any, ...]], run_id: str, event_type: str, payload: dict[str, Any],
                    table: str = EventTable.RUN_EVENTS) -> Event | None:
        """Apply `guard` (a store UPDATE) and, if it changed a row, append the event in the same transaction
        and publish it; None when it changed nothing (see `store.events.make_appender`)."""
        if self._append is None:
            raise TypeError("a guarded event needs a bus with an event log")
        event = self._append(run_id, table, event_type, payload, guard=guard)
        return None if event is None else self.publish(event)

    def emit(self, event_type: str, table: str, payload: dict[str, Any]) -> Event:
        return self.publish(Event(event_type, table, payload))

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions) + len(self._listeners)

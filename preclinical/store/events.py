"""The run event log: append-only, read back for SSE replay and for screens catching up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from preclinical import json_codec
from preclinical.bus import Event
from preclinical.store.db import database, is_postgres
from preclinical.store.models import RunEvent
from preclinical.store.serialize import iso


def event_from_row(row: RunEvent) -> Event:
    return Event(row.event_type, row.tbl, row.payload, row.test_run_id, row.id, iso(row.created_at))


_INSERT = ("INSERT INTO run_event (test_run_id, tbl, event_type, payload, created_at) VALUES (?, ?, ?, ?, ?) "
           "RETURNING id")
# On PostgreSQL several processes append to one run's log. Ids come from a sequence, and a lower id
# could commit after a higher one, so a reader that had moved past it would miss it for good. A
# per-run transaction lock taken before the id is drawn makes one run's ids commit in order.
# The same statement tells every other process the new id (never the payload: NOTIFY carries at
# most 8 kB), delivered when it commits; see `store/relay.py`.
CHANNEL = "preclinical_events"
_INSERT_PG = (
    "WITH added AS (INSERT INTO run_event (test_run_id, tbl, event_type, payload, created_at) "
    "SELECT %s, %s, %s, %s::json, %s::timestamp FROM (SELECT pg_advisory_xact_lock(1, hashtext(%s))) AS in_order "
    f"RETURNING id) SELECT id, pg_notify('{CHANNEL}', %s || ' ' || id) FROM added"
)


def make_appender(now: Callable[[], datetime], origin: str = "") -> Callable[[str, str, str, dict[str, Any]], Event]:
    """An appender for the bus. Plain SQL: this runs several times per turn, and query building costs more.

    `origin` names this bus in notifications, so that its own events are not published to it twice.
    """

    def append(run_id: str, table: str, event_type: str, payload: dict[str, Any]) -> Event:
        created = now()
        values = (run_id, table, event_type, json_codec.dumps(payload), created.isoformat(" "))
        if is_postgres():
            cursor = database.execute_sql(_INSERT_PG, (*values, run_id, origin))
        else:
            cursor = database.execute_sql(_INSERT, values)
        return Event(event_type, table, payload, run_id, cursor.fetchall()[0][0], iso(created))

    return append


def events_by_id(ids: list[int]) -> list[Event]:
    """Logged events by id, in id order (what another process announced)."""
    if not ids:
        return []
    return [event_from_row(r) for r in RunEvent.select().where(RunEvent.id.in_(ids)).order_by(RunEvent.id)]


def events_after(run_id: str, after_id: int = 0, limit: int = 5000) -> list[Event]:
    rows = (
        RunEvent.select()
        .where(RunEvent.test_run == run_id, RunEvent.id > after_id)
        .order_by(RunEvent.id)
        .limit(limit)
    )
    return [event_from_row(r) for r in rows]

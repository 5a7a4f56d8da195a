"""The run event log: append-only, read back for SSE replay and for screens catching up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from preclinical import json_codec
from preclinical.bus import Event
from preclinical.store.db import database, execute, is_postgres
from preclinical.store.ids import canonical_uuid
from preclinical.store.serialize import iso

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


# An event that belongs with a change (a turn's transcript): the change is a guard, an UPDATE in the
# shared SQL subset, and the event is logged only if it changed a row, in the same transaction. On
# PostgreSQL both go in one statement: one round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT).
Guard = tuple[str, tuple[Any, ...]]


@lru_cache(maxsize=32)
def _guarded_pg(guard_sql: str) -> str:
    return (f"WITH guard AS ({guard_sql} RETURNING 1), "
            "added AS (INSERT INTO run_event (test_run_id, tbl, event_type, payload, created_at) "
            "SELECT ?, ?, ?, ?::json, ?::timestamp FROM guard, (SELECT pg_advisory_xact_lock(1, hashtext(?))) AS in_order "
            f"RETURNING id) SELECT id, pg_notify('{CHANNEL}', ? || ' ' || id) FROM added")


def make_appender(now: Callable[[], datetime], origin: str = "") -> Callable[..., Event | None]:
    """An appender for the bus. Plain SQL: this runs several times per turn, and query building costs more.

    `origin` names this bus in notifications, so that its own events are not published to it twice.
    With a `guard` the event is logged only if the guard changed a row (None otherwise), atomically.
    """

    def append(run_id: str, table: str, event_type: str, payload: dict[str, Any],
               guard: Guard | None = None) -> Event | None:
        created = now()
        values = (run_id, table, event_type, json_codec.dumps(payload), created.isoformat(" "))
        if is_postgres():
            if guard is None:
                rows = database.execute_sql(_INSERT_PG, (*values, run_id, origin)).fetchall()
            else:  # autocommit: the one statement is its own transaction
                rows = database.execute_sql(_guarded_pg(guard[0]), (*guard[1], *values, run_id, origin)).fetchall()
        elif guard is None:
            rows = database.execute_sql(_INSERT, values).fetchall()
        else:
            with database.atomic():
                if database.execute_sql(*guard).rowcount == 0:
                    return None
                rows = database.execute_sql(_INSERT, values).fetchall()
        if not rows:
            return None
        return Event(event_type, table, payload, run_id, rows[0][0], iso(created))

    return append


_AFTER = ("SELECT id, tbl, event_type, payload, created_at FROM run_event WHERE test_run_id = ? AND id > ? "
          "ORDER BY id LIMIT ?")


def events_by_id(ids: list[int]) -> list[Event]:
    """Logged events by id, in id order (what another process announced)."""
    if not ids:
        return []
    rows = database.execute_sql(
        "SELECT id, test_run_id, tbl, event_type, payload, created_at FROM run_event "
        f"WHERE id IN ({', '.join('?' for _ in ids)}) ORDER BY id", ids).fetchall()
    return [Event(event_type, tbl, json_codec.loads(payload) if payload else {}, run_id, event_id, iso(created))
            for event_id, run_id, tbl, event_type, payload, created in rows]


LoggedRow = tuple[int, str, str, Any, Any]  # id, table, event type, payload (JSON text), created at


def rows_after(run_id: str, after_id: int = 0, limit: int = 5000) -> list[LoggedRow]:
    """The run's logged events after `after_id`, oldest first, as stored (decode one with `event_of`).

    Plain SQL, undecoded: every SSE client replays the log with it, and a frame already encoded for
    another client needs only its id and type.
    """
    return execute(_AFTER, (run_id, after_id, limit)).fetchall()


def event_of(run_id: str, row: LoggedRow) -> Event:
    event_id, tbl, event_type, payload, created = row
    return Event(event_type, tbl, json_codec.loads(payload) if payload else {}, run_id, event_id, iso(created))


def events_after(run_id: str, after_id: int = 0, limit: int = 5000) -> list[Event]:
    """The run's logged events after `after_id`, oldest first."""
    return [event_of(run_id, row) for row in rows_after(run_id, after_id, limit)]


def run_status(run_id: str) -> str | None:
    """The run's status, or None when there is no such run (cheap enough to ask on every SSE catch-up)."""
    row = execute("SELECT status FROM test_run WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None


def run_id_of(ref: object) -> str | None:
    """The id of the run `ref` names (its UUID or its human `run_…` id), deleted runs included; None if none.

    Plain SQL: every SSE client asks this once on connecting, and a connect storm of hundreds of
    clients should not build hundreds of ORM queries and model objects.
    """
    if not isinstance(ref, str) or not ref.strip():
        return None
    key = canonical_uuid(ref)
    if key:
        row = execute("SELECT id FROM test_run WHERE id = ?", (key,)).fetchone()
    else:
        row = execute("SELECT id FROM test_run WHERE test_run_id = ?", (ref.strip(),)).fetchone()
    return row[0] if row else None

"""The run event log: append-only, read back for SSE replay and for screens catching up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from preclinical import json_codec
from preclinical.bus import Event
from preclinical.store.db import database
from preclinical.store.serialize import iso

_INSERT = "INSERT INTO run_event (test_run_id, tbl, event_type, payload, created_at) VALUES (?, ?, ?, ?, ?)"


def make_appender(now: Callable[[], datetime]) -> Callable[[str, str, str, dict[str, Any]], Event]:
    """An appender for the bus. Plain SQL: this runs several times per turn, and query building costs more."""

    def append(run_id: str, table: str, event_type: str, payload: dict[str, Any]) -> Event:
        created = now()
        values = (run_id, table, event_type, json_codec.dumps(payload), created.isoformat(" "))
        cursor = database.execute_sql(_INSERT, values)
        return Event(event_type, table, payload, run_id, cursor.lastrowid, iso(created))

    return append


_AFTER = ("SELECT id, tbl, event_type, payload, created_at FROM run_event WHERE test_run_id = ? AND id > ? "
          "ORDER BY id LIMIT ?")


def events_after(run_id: str, after_id: int = 0, limit: int = 5000) -> list[Event]:
    """The run's logged events after `after_id`, oldest first (plain SQL: every SSE client replays with it)."""
    rows = database.execute_sql(_AFTER, (run_id, after_id, limit)).fetchall()
    return [Event(event_type, tbl, json_codec.loads(payload) if payload else {}, run_id, event_id, iso(created))
            for event_id, tbl, event_type, payload, created in rows]


def run_status(run_id: str) -> str | None:
    """The run's status, or None when there is no such run (cheap enough to ask on every SSE catch-up)."""
    row = database.execute_sql("SELECT status FROM test_run WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None

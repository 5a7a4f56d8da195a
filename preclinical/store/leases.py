"""Leases: one owner per scenario run, the same on SQLite and PostgreSQL.

A process that runs a scenario run first claims it: the row records the owner (`host:pid:nonce`),
a heartbeat and until when the lease holds. The owner renews its leases while it works. Another
process takes a scenario run over only when its owner is gone: the lease has expired, or the owner
is a process on this same machine that no longer exists (so a restart after a crash resumes at
once, without waiting for the lease to run out). A live owner's work is never taken over.

Times are the services clock (naive UTC); processes on several machines need synchronised clocks
to within a fraction of the lease (NTP does this).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from preclinical.domain.run import SCENARIO_ACTIVE, sql_in
from preclinical.services import Services
from preclinical.store import db

LEASE_S = 30.0  # how long a claim holds without a heartbeat; owners renew every third of it

_ACTIVE = sql_in(SCENARIO_ACTIVE)


def new_owner() -> str:
    """An owner id for this process: host, pid (to tell a dead local process at once) and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str | None) -> bool:
    """True when `owner` is a process on this machine that has exited (other machines: only the lease tells)."""
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False


def _text(value: datetime) -> str:
    return value.isoformat(" ")


def claim(svc: Services, sr_id: str, owner: str, lease_s: float = LEASE_S) -> bool:
    """Make `owner` the owner of an active scenario run unless a live owner holds it. True when it now owns it."""
    now = svc.now()
    expires = now + timedelta(seconds=lease_s)
    cursor = db.execute(
        "UPDATE scenario_run SET owner = ?, last_heartbeat_at = ?, lease_expires_at = ? "
        f"WHERE id = ? AND status IN {_ACTIVE} "
        "AND (owner IS NULL OR owner = ? OR lease_expires_at IS NULL OR lease_expires_at < ?)",
        (owner, _text(now), _text(expires), sr_id, owner, _text(now)))
    if cursor.rowcount > 0:
        return True
    row = db.execute(f"SELECT owner FROM scenario_run WHERE id = ? AND status IN {_ACTIVE}", (sr_id,)).fetchone()
    if row is None or not owner_is_gone(row[0]):
        return False
    # The holder was a process on this machine that has died: take over at once (only if it is still that one).
    cursor = db.execute(
        "UPDATE scenario_run SET owner = ?, last_heartbeat_at = ?, lease_expires_at = ? "
        f"WHERE id = ? AND status IN {_ACTIVE} AND owner = ?",
        (owner, _text(now), _text(expires), sr_id, row[0]))
    return cursor.rowcount > 0


def renew(svc: Services, owner: str, sr_ids: list[str], lease_s: float = LEASE_S) -> set[str]:
    """Extend `owner`'s leases on `sr_ids`; returns the ids it still holds and that are still active.

    An id missing from the answer was canceled, deleted or finished meanwhile: its work should stop.
    """
    if not sr_ids:
        return set()
    now = svc.now()
    marks = ", ".join("?" for _ in sr_ids)
    db.execute(
        f"UPDATE scenario_run SET last_heartbeat_at = ?, lease_expires_at = ? "
        f"WHERE owner = ? AND status IN {_ACTIVE} AND id IN ({marks})",
        (_text(now), _text(now + timedelta(seconds=lease_s)), owner, *sr_ids))
    rows = db.execute(f"SELECT id FROM scenario_run WHERE owner = ? AND status IN {_ACTIVE} AND id IN ({marks})",
                      (owner, *sr_ids)).fetchall()
    return {r[0] for r in rows}


def release(sr_id: str, owner: str) -> None:
    """Give up a claim (the scenario run stays where it is, for whoever claims it next)."""
    db.execute("UPDATE scenario_run SET lease_expires_at = NULL, owner = NULL WHERE id = ? AND owner = ? "
               f"AND status IN {_ACTIVE}", (sr_id, owner))


def held_by_other(svc: Services, owner: str | None, expires: datetime | None, me: str) -> bool:
    """Whether a row's lease (as read) belongs to a live owner other than `me`."""
    if not owner or owner == me or expires is None:
        return False
    return expires >= svc.now() and not owner_is_gone(owner)

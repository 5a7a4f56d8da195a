"""One owner per run: leases on test runs and their scenario runs, shared by every process on one database.

A process that drives a run records its owner id and a lease expiry on the run and on its active
scenario runs, and renews the lease with a heartbeat. Another process (the TUI opened while `serve`
runs, a second server, later a worker of a pool) takes a run over only when its owner is gone:

- the lease expired (the owner stopped renewing it: crashed, hung, or on another machine and silent), or
- the owner runs on this host and its process no longer exists (kill -9: no need to wait for expiry), or
- nobody owns it (the owner let go at a clean shutdown, or the row predates leases).

Taking over is a compare-and-swap on the owner id, so exactly one process wins. Lease times are real
UTC wall-clock time (processes compare them), not the injectable clock the rest of the store uses.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from preclinical.domain.run import SCENARIO_ACTIVE, RunStatus, sql_in
from preclinical.store.db import database

LEASE_S = 30.0  # how long a lease holds without a heartbeat
HEARTBEAT_S = 5.0  # how often an owner renews its leases (well inside LEASE_S)
_ACTIVE = sql_in(SCENARIO_ACTIVE)
_RUNNING = RunStatus.RUNNING.value


def wall_clock() -> datetime:
    """Naive UTC now (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_owner_id() -> str:
    """`host:pid:nonce`: unique per process start, and enough to tell whether a local owner still exists."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int | None

    @classmethod
    def parse(cls, owner_id: str) -> Owner:
        host, _, rest = owner_id.rpartition(":")  # nonce
        host, _, pid = host.rpartition(":")
        return cls(host, int(pid) if pid.isdigit() else None)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or we cannot tell: assume it lives
    return True


def owner_gone(owner_id: str | None, lease_expires_at: datetime | str | None, *, me: str | None = None,
               now: datetime | None = None) -> bool:
    """Whether nobody drives work held under this owner and lease any more (`me`: the asking owner)."""
    if not owner_id:
        return True
    if owner_id == me or owner_id == QUEUE_OWNER:  # a queue's run lives as long as its workers do
        return False
    expires = datetime.fromisoformat(lease_expires_at) if isinstance(lease_expires_at, str) else lease_expires_at
    if expires is None or expires <= (now or wall_clock()):
        return True
    owner = Owner.parse(owner_id)
    if owner.host == socket.gethostname() and owner.pid is not None:
        # An earlier owner in this very process (a runtime that was closed without letting go) is gone too.
        return owner.pid == os.getpid() or not _process_exists(owner.pid)
    return False


def expiry(now: datetime | None = None) -> str:
    return ((now or wall_clock()) + timedelta(seconds=LEASE_S)).isoformat(" ")


def claim_run(run_id: str, owner_id: str, *, expected: str | None) -> bool:
    """Take the run (and its active scenario runs) if its owner is still `expected`; True when taken."""
    until = expiry()
    with database.atomic():
        cursor = database.execute_sql(
            "UPDATE test_run SET owner_id = ?, lease_expires_at = ? "
            f"WHERE id = ? AND status = '{_RUNNING}' AND (owner_id IS ? OR owner_id = ?)",
            (owner_id, until, run_id, expected, owner_id))
        if cursor.rowcount == 0:
            return False
        database.execute_sql(
            f"UPDATE scenario_run SET owner_id = ?, lease_expires_at = ? WHERE test_run_id = ? AND status IN {_ACTIVE}",
            (owner_id, until, run_id))
    return True


def renew(owner_id: str) -> set[str]:
    """Heartbeat: extend every lease this owner holds; returns the ids of the running runs it still owns."""
    until = expiry()
    with database.atomic():
        database.execute_sql(f"UPDATE test_run SET lease_expires_at = ? WHERE owner_id = ? AND status = '{_RUNNING}'",
                             (until, owner_id))
        database.execute_sql(
            f"UPDATE scenario_run SET lease_expires_at = ? WHERE owner_id = ? AND status IN {_ACTIVE}",
            (until, owner_id))
        rows = database.execute_sql(
            f"SELECT id FROM test_run WHERE owner_id = ? AND status = '{_RUNNING}' AND deleted_at IS NULL",
            (owner_id,)).fetchall()
    return {r[0] for r in rows}


def release(owner_id: str) -> None:
    """Let go of the unfinished work this owner holds (a clean shutdown: the next process resumes it at once).
    Finished rows keep their owner id: which process ran them."""
    with database.atomic():
        database.execute_sql("UPDATE test_run SET owner_id = NULL, lease_expires_at = NULL "
                             f"WHERE owner_id = ? AND status = '{_RUNNING}'", (owner_id,))
        database.execute_sql("UPDATE scenario_run SET owner_id = NULL, lease_expires_at = NULL "
                             f"WHERE owner_id = ? AND status IN {_ACTIVE}", (owner_id,))


@dataclass(frozen=True)
class RunLease:
    run_id: str
    owner_id: str | None
    lease_expires_at: str | None

    def gone(self, me: str | None = None) -> bool:
        return owner_gone(self.owner_id, self.lease_expires_at, me=me)


def running_runs() -> list[RunLease]:
    """Every running run with its owner and lease, oldest first."""
    rows = database.execute_sql(
        f"SELECT id, owner_id, lease_expires_at FROM test_run WHERE status = '{_RUNNING}' ORDER BY created_at").fetchall()
    return [RunLease(*row) for row in rows]


# ---------------------------------------------------------------------------------------------------------------
# Scenario runs one at a time: the team's workers (engine/dispatch.py) each own single scenario runs of a run
# whose scenario runs are spread over many processes. Same columns, same liveness rule as above.
QUEUE_OWNER = "queue"  # the owner of a run whose scenario runs a queue hands to workers: never "gone"
QUEUE_LEASE = "9999-12-31 00:00:00"


def claim_unit(sr_id: str, owner_id: str) -> bool:
    """Make `owner_id` the owner of an active scenario run unless a live owner holds it; True when it now does."""
    now = wall_clock()
    row = database.execute_sql(f"SELECT owner_id, lease_expires_at FROM scenario_run WHERE id = ? AND status IN {_ACTIVE}",
                               (sr_id,)).fetchone()
    if row is None:
        return False
    held_by, held_until = row
    if held_by not in (None, owner_id, QUEUE_OWNER) and not owner_gone(held_by, held_until, me=owner_id, now=now):
        return False
    cursor = database.execute_sql(  # compare-and-swap: exactly one claimant wins
        f"UPDATE scenario_run SET owner_id = ?, lease_expires_at = ?, last_heartbeat_at = ? "
        f"WHERE id = ? AND status IN {_ACTIVE} AND COALESCE(owner_id, '') = ?",
        (owner_id, expiry(now), now.isoformat(" "), sr_id, held_by or ""))
    return cursor.rowcount > 0


def renew_units(owner_id: str, sr_ids: list[str]) -> set[str]:
    """Heartbeat for scenario runs claimed one by one; returns those still held and active."""
    if not sr_ids:
        return set()
    now = wall_clock()
    marks = ", ".join("?" for _ in sr_ids)
    database.execute_sql(
        f"UPDATE scenario_run SET lease_expires_at = ?, last_heartbeat_at = ? "
        f"WHERE owner_id = ? AND status IN {_ACTIVE} AND id IN ({marks})",
        (expiry(now), now.isoformat(" "), owner_id, *sr_ids))
    rows = database.execute_sql(f"SELECT id FROM scenario_run WHERE owner_id = ? AND status IN {_ACTIVE} "
                                f"AND id IN ({marks})", (owner_id, *sr_ids)).fetchall()
    return {r[0] for r in rows}


def release_unit(sr_id: str, owner_id: str) -> None:
    """Let go of one unfinished scenario run (a worker stopping): the next worker resumes it at once."""
    database.execute_sql("UPDATE scenario_run SET owner_id = NULL, lease_expires_at = NULL "
                         f"WHERE id = ? AND owner_id = ? AND status IN {_ACTIVE}", (sr_id, owner_id))

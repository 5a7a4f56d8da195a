"""The executor's side of run leases: take over orphaned runs, keep leases alive, follow other processes' runs.

Every process on a data dir runs one `Ownership` loop. It renews the leases of the runs this process
drives (and stops a run whose lease was lost, or that was canceled or deleted by another process);
it takes over a run only when its owner is gone (see `store.leases`); and it follows every run that
a live owner elsewhere drives, republishing that run's logged events on the local bus, so screens and
SSE clients here see it live without ever playing a conversation a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from preclinical.domain.run import TERMINAL_EVENTS, ScenarioRunStatus
from preclinical.store import leases
from preclinical.store import runs as store
from preclinical.store.db import database
from preclinical.store.events import events_after
from preclinical.store.models import ScenarioRun

if TYPE_CHECKING:
    from preclinical.engine.executor import Executor

log = logging.getLogger(__name__)

FOLLOW_S = 0.25  # how often events of runs driven elsewhere are picked up


class Ownership:
    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.owner_id = leases.new_owner_id()
        self._task: asyncio.Task[None] | None = None
        self._followed: dict[str, int] = {}  # run id -> last event id republished here
        # Off where another path brings other processes' events to the bus (PostgreSQL: store/relay.py).
        self.follow_elsewhere = True

    # ------------------------------------------------------------------ taking over
    def take_over_orphans(self, *, at_start: bool = False) -> dict[str, int]:
        """Resume every running run whose owner is gone; follow the others. Returns what was done.

        At start-up that includes runs nobody owns (let go at a clean shutdown, or older than leases);
        later, only runs whose owner died (a clean stop means "resume at the next start", as before).
        """
        resumed = closed = followed = 0
        for lease in leases.running_runs():
            if lease.owner_id == self.owner_id or (lease.owner_id is None and not at_start):
                continue
            if not lease.gone(self.owner_id):
                if lease.run_id not in self._followed and self.follow_elsewhere:
                    self._follow(lease.run_id, from_start=not at_start)
                    followed += 1
                continue
            if not leases.claim_run(lease.run_id, self.owner_id, expected=lease.owner_id):
                continue  # another process was quicker
            self._followed.pop(lease.run_id, None)
            r, c = self._resume(lease.run_id)
            resumed, closed = resumed + r, closed + c
        if resumed or closed:
            log.info("took over unfinished work: %d scenario runs resumed, %d closed", resumed, closed)
        if followed:
            log.info("following %d run(s) driven by another Preclinical process on this data dir", followed)
        return {"resumed": resumed, "closed": closed, "followed": followed}

    def _resume(self, run_id: str) -> tuple[int, int]:
        """Restart the scenario runs cut off mid-conversation (or close them after too many restarts)."""
        ex = self.executor
        resumed = closed = 0
        for sr in ScenarioRun.select().where(ScenarioRun.test_run == run_id, ScenarioRun.status == ScenarioRunStatus.RUNNING):
            if ex.resume_interrupted(run_id, sr):
                resumed += 1
            else:
                closed += 1
        if not store.finalize_run(ex.svc, run_id):
            ex.launch(run_id)
        return resumed, closed

    # ------------------------------------------------------------------ following
    def _follow(self, run_id: str, *, from_start: bool = False) -> None:
        """Republish the run's events from now on (from its first event for a run started after we opened:
        screens learn of it as if it had started here)."""
        if from_start:
            self._followed[run_id] = 0
            return
        row = database.execute_sql("SELECT MAX(id) FROM run_event WHERE test_run_id = ?", (run_id,)).fetchone()
        self._followed[run_id] = row[0] or 0

    def _discover(self, running: list[leases.RunLease]) -> None:
        """Follow runs another live process started since the last look (a cheap indexed query per tick)."""
        if not self.follow_elsewhere:
            return
        for lease in running:
            if (lease.run_id not in self._followed and lease.owner_id not in (None, self.owner_id)
                    and lease.run_id not in self.executor.tasks and not lease.gone(self.owner_id)):
                self._follow(lease.run_id, from_start=True)

    def _republish(self, running: set[str]) -> None:
        bus = self.executor.svc.bus
        for run_id, after in list(self._followed.items()):
            events = events_after(run_id, after, limit=1000)
            for event in events:
                bus.publish(event)
                after = event.id or after
            self._followed[run_id] = after
            ended = any(e.event_type in TERMINAL_EVENTS for e in events)
            if ended or (run_id not in running and not events):
                del self._followed[run_id]

    # ------------------------------------------------------------------ the loop
    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="run leases")

    async def _loop(self, clock: Callable[[], float] = time.monotonic) -> None:
        next_beat = clock() + leases.HEARTBEAT_S
        while True:
            await asyncio.sleep(FOLLOW_S)
            try:
                if clock() >= next_beat:
                    next_beat = clock() + leases.HEARTBEAT_S
                    self._heartbeat()
                    self.take_over_orphans()
                else:
                    running = leases.running_runs()
                    self._discover(running)
                    if self._followed:
                        self._republish({lease.run_id for lease in running})
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is busy or gone for a moment: try again at the next tick
                log.warning("run lease upkeep failed; retrying", exc_info=True)

    def _heartbeat(self) -> None:
        owned = leases.renew(self.owner_id)
        for run_id, task in list(self.executor.tasks.items()):
            if run_id not in owned:  # canceled or deleted elsewhere, or the lease was lost: stop driving it
                log.info("run %s is no longer ours to drive (canceled, deleted or taken over); stopping it", run_id)
                self.executor.tasks.pop(run_id, None)
                task.cancel()
        if self._followed:
            self._republish({lease.run_id for lease in leases.running_runs()})

    async def stop(self) -> None:
        """Stop the loop and let go of every lease (the caller has stopped its run tasks first)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            leases.release(self.owner_id)

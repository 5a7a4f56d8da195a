"""Work claimed through procrastinate (a PostgreSQL task queue): the queue dispatcher and the worker.

One scenario run is one job. Starting a run defers a job per scenario run; any `preclinical worker`
(or a `serve` with a worker inside) claims jobs with `SKIP LOCKED`, woken by LISTEN/NOTIFY. A run's
`concurrency_limit` holds across all workers: its jobs are dealt round-robin into that many lanes,
and procrastinate never runs two jobs of one lane (one `lock`) at once.

Ownership is the store's lease (store/leases.py): a job first claims its scenario run; if a live
owner holds it the job is retried later. When a worker dies (kill -9) its procrastinate heartbeat
stops; after one lease any worker's sweeper puts its jobs back in the queue, and the next worker to
take them resumes the scenario runs, exactly as a restart does locally. Whoever ends a run's last
scenario run finalises it (once: `store.runs.finalize_run` locks the run's row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from preclinical.domain.run import SCENARIO_ACTIVE, RunStatus, ScenarioRunStatus, sql_in
from preclinical.engine.executor import Executor
from preclinical.store import db, leases
from preclinical.store.db import database
from preclinical.store.models import ScenarioRun, TestRun

log = logging.getLogger(__name__)

QUEUE = "preclinical_scenarios"
TASK = "preclinical.run_scenario"
_SCHEMA_LOCK = 0x70726564  # serialises applying procrastinate's schema among processes starting together
_SWEEP_LOCK = 0x70726565


class LeaseHeld(Exception):
    """A live owner holds the scenario run: the job is retried later."""


def _procrastinate() -> Any:
    try:
        import procrastinate
    except ImportError:
        from preclinical.errors import InvalidInput

        raise InvalidInput("Workers need procrastinate: pip install 'preclinical-local[team]'") from None
    return procrastinate


def ensure_queue_schema() -> None:
    """Create procrastinate's tables in the store's database unless they are there (once, under a lock)."""
    procrastinate = _procrastinate()
    if database.execute_sql("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is not None:
        return
    schema = procrastinate.schema.SchemaManager.get_schema()
    with database.atomic():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        if database.execute_sql("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
            database.connection().execute(schema)  # no parameters: procrastinate's SQL is sent as written
            log.info("created the work queue's tables")


def abort_run_jobs(run_id: str) -> int:
    """Stop a canceled run's queued and running jobs at once, on whichever worker holds them.

    procrastinate cancels the jobs still waiting and asks for the running ones to be aborted: the
    request reaches their worker by LISTEN/NOTIFY, which cancels the job's task within moments
    (not at the next lease heartbeat). Returns how many jobs were stopped; 0 on a store without a queue.
    """
    if database.execute_sql("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
        return 0
    rows = database.execute_sql(
        "SELECT procrastinate_cancel_job_v1(id, true, true) FROM procrastinate_jobs "
        "WHERE queue_name = %s AND split_part(lock, '/', 1) = %s AND status IN ('todo', 'doing')",
        (QUEUE, run_id)).fetchall()
    return sum(1 for (job_id,) in rows if job_id is not None)


class QueueDispatcher:
    """Hands scenario runs to the queue; `recover` re-queues work whose owner is gone."""

    def __init__(self, executor: Executor, url: str) -> None:
        procrastinate = _procrastinate()
        from procrastinate.manager import JobManager
        from procrastinate.sync_psycopg_connector import SyncPsycopgConnector

        self.executor = executor
        self.url = url
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=4))
        retry = procrastinate.RetryStrategy(max_attempts=100_000, wait=1, retry_exceptions={LeaseHeld})

        @self.app.task(name=TASK, queue=QUEUE, retry=retry)
        async def run_scenario(scenario_run_id: str) -> None:
            if not await executor.run_unit(scenario_run_id):
                raise LeaseHeld(scenario_run_id)

        self.task = run_scenario
        # Deferring runs on the store's own connection, synchronously like every other write: a
        # connector that is never opened lends procrastinate's SQL and JSON handling to it.
        self._defer = JobManager(SyncPsycopgConnector(conninfo=url))

    # ------------------------------------------------------------------ deferring
    def submit(self, run_id: str) -> int:
        """Defer one job per unfinished scenario run of the run, in lanes of its concurrency limit."""
        run = TestRun.get_or_none(TestRun.id == run_id)
        if run is None:
            return 0
        ids: list[str] = [row[0] for row in ScenarioRun.select(ScenarioRun.id).where(  # type: ignore[index]
            ScenarioRun.test_run == run_id, ScenarioRun.status.in_(SCENARIO_ACTIVE))
            .order_by(ScenarioRun.position).tuples()]
        return self._defer_units([(run_id, i, sr_id) for i, sr_id in enumerate(ids)],
                                 {run_id: run.concurrency_limit})

    def _defer_units(self, units: list[tuple[str, int, str]], limits: dict[str, int]) -> int:
        if not units:
            return 0
        jobs = [self.task.configure(lock=f"{run_id}/{position % max(1, limits[run_id])}")
                .make_new_job(scenario_run_id=sr_id) for run_id, position, sr_id in units]
        self._defer.batch_defer_jobs(jobs, connection=database.connection())
        return len(jobs)

    def recover(self) -> dict[str, int]:
        """Queue every unfinished scenario run that has no job and no live owner (after a crash, or a local run)."""
        ensure_queue_schema()
        now = leases.wall_clock().isoformat(" ")
        with database.atomic():
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SWEEP_LOCK,))
            rows = db.execute(
                "SELECT sr.id, sr.test_run_id, sr.position, tr.concurrency_limit FROM scenario_run sr "
                "JOIN test_run tr ON tr.id = sr.test_run_id "
                f"WHERE tr.status = ? AND sr.status IN {sql_in(SCENARIO_ACTIVE)} "
                "AND (sr.owner_id IS NULL OR sr.owner_id = ? OR sr.lease_expires_at IS NULL OR sr.lease_expires_at < ?) "
                "AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.queue_name = ? "
                "AND j.status IN ('todo', 'doing') AND j.args ->> 'scenario_run_id' = sr.id) "
                "ORDER BY sr.test_run_id, sr.position",
                (str(RunStatus.RUNNING), leases.QUEUE_OWNER, now, QUEUE)).fetchall()
            queued = self._defer_units([(r[1], r[2], r[0]) for r in rows], {r[1]: r[3] for r in rows})
        if queued:
            log.info("queued %d unfinished scenario runs that had no live owner", queued)
        return {"resumed": queued, "closed": 0}

    # ------------------------------------------------------------------ working
    async def work(self, concurrency: int) -> None:
        """Claim and run scenario runs until cancelled; put a dead worker's jobs back in the queue meanwhile."""
        lease_s = leases.LEASE_S
        sweeper = asyncio.get_running_loop().create_task(self._sweep(lease_s), name="queue sweeper")
        try:
            await self.app.run_worker_async(
                queues=[QUEUE], concurrency=concurrency, name=self.executor.owner, install_signal_handlers=False,
                update_heartbeat_interval=max(0.5, lease_s / 3), stalled_worker_timeout=lease_s,
                delete_jobs="successful", shutdown_graceful_timeout=1)
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    async def _sweep(self, lease_s: float) -> None:
        while True:
            await asyncio.sleep(max(0.5, lease_s / 2))
            try:
                for job in await self.app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=lease_s):
                    sr_id = job.task_kwargs.get("scenario_run_id")
                    if sr_id in self.executor._held:
                        continue  # running here: only this worker's heartbeat was late (a busy machine)
                    with contextlib.suppress(Exception):  # another sweeper may have been first
                        if ScenarioRun.select().where(ScenarioRun.id == sr_id,
                                                      ScenarioRun.status == ScenarioRunStatus.CANCELED).exists():
                            # Its run was canceled (the abort asked for can no longer be put back in the
                            # queue): nothing to resume, close the job.
                            await self.app.job_manager.finish_job(job, status=_procrastinate().jobs.Status.ABORTED,
                                                                  delete_job=False)
                            continue
                        await self.app.job_manager.retry_job(job)
                        log.info("job %s of a stopped worker is back in the queue", job.id)
                self.recover()
            except asyncio.CancelledError:
                raise
            except Exception:  # a lost connection must not end the worker: try again next round
                log.exception("queue sweep failed")


@contextlib.asynccontextmanager
async def queue_mode(executor: Executor, url: str, *, lease_s: float | None = None) -> AsyncIterator[QueueDispatcher]:
    """Make `executor` hand its runs to the queue (and resume through it) while the context is open."""
    if lease_s is not None:
        leases.LEASE_S = lease_s  # the process's lease length (a worker's --lease)
        leases.HEARTBEAT_S = min(leases.HEARTBEAT_S, lease_s / 3)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)  # a line per job would drown our own log
    ensure_queue_schema()
    dispatcher = QueueDispatcher(executor, url)
    executor.dispatcher = dispatcher
    async with dispatcher.app.open_async():
        try:
            yield dispatcher
        finally:
            executor.dispatcher = None


@contextlib.asynccontextmanager
async def serve_queue(executor: Executor, url: str, *, worker: bool, concurrency: int,
                      lease_s: float | None = None) -> AsyncIterator[QueueDispatcher]:
    """Queue mode for a process: runs go to the queue, unowned work is re-queued, and (with `worker`) a worker runs here."""
    async with queue_mode(executor, url, lease_s=lease_s) as dispatcher:
        executor.recover()
        task = asyncio.get_running_loop().create_task(dispatcher.work(concurrency), name="worker") if worker else None
        try:
            yield dispatcher
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def run_worker(settings: Any, *, concurrency: int, lease_s: float | None = None) -> int:
    """`preclinical worker`: claim and run scenario runs from the queue until SIGINT / SIGTERM."""
    import signal

    from preclinical.runtime import open_runtime

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings, seed=False, recover=False, follow_others=False) as rt, \
            serve_queue(rt.executor, settings.database_url, worker=True, concurrency=concurrency, lease_s=lease_s):
        log.info("worker %s: up to %d scenario runs at once", rt.executor.owner, concurrency)
        await stop.wait()
    return 0

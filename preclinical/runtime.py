"""The runtime: settings, database, bus, clock, the target providers and the run engine, opened and closed as one unit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from preclinical.bus import EventBus
from preclinical.config import Settings
from preclinical.engine.executor import Executor
from preclinical.engine.llm import LLM, ModelSettings
from preclinical.engine.regrade import Regrader
from preclinical.providers.registry import ProviderSet
from preclinical.services import Services, utc_now
from preclinical.store import db as store_db
from preclinical.store.events import make_appender
from preclinical.store.relay import new_origin, relaying

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    services: Services
    started_at: datetime
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def executor(self) -> Executor:
        return self.extras["executor"]

    @property
    def regrader(self) -> Regrader:
        return self.extras["regrader"]

    @property
    def providers(self) -> ProviderSet:
        """The target providers and their pooled HTTP session, closed with the runtime."""
        return self.extras["providers"]

    @property
    def llm(self) -> LLM | None:
        return self.extras.get("llm")

    @property
    def bus(self) -> EventBus:
        return self.services.bus

    def now(self) -> datetime:
        return self.services.now()

    def database_ok(self) -> bool:
        try:
            store_db.database.execute_sql("SELECT 1").fetchone()
            return True
        except Exception:
            log.exception("database check failed")
            return False


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    now: Callable[[], datetime] = utc_now,
    rng: random.Random | None = None,
    seed: bool = True,
    recover: bool = True,
    llm: LLM | None = None,
    follow_others: bool = True,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[Runtime]:
    """Open the database (migrating it), seed the bundled library on first start, and close cleanly.

    On PostgreSQL the bus also publishes the run events other processes append (`follow_others`;
    a worker, which nobody watches, leaves it off). `sleep` is every wait between retries (of the
    executor, the target providers and a language model made here); tests pass one that does not wait.
    """
    store_db.open_database(settings.database_target)
    origin = new_origin()
    bus = EventBus(make_appender(now, origin))
    services = Services(bus=bus, now=now, rng=rng or random.Random())
    runtime = Runtime(settings=settings, services=services, started_at=now())
    if llm is None and settings.model_configured:
        llm = LLM(model_settings(settings), sleep=sleep)
    runtime.extras["llm"] = llm
    runtime.extras["providers"] = providers = ProviderSet(sleep=sleep)
    runtime.extras["executor"] = executor = Executor(settings, services, llm, sleep=sleep, providers=providers)
    runtime.extras["regrader"] = Regrader(executor)
    stack = contextlib.AsyncExitStack()
    try:
        if follow_others and store_db.is_postgres():  # follow runs that other processes execute (store/relay.py)
            runtime.extras["relay"] = await stack.enter_async_context(relaying(str(settings.database_url), bus, origin))
            executor.ownership.follow_elsewhere = False  # the relay already brings those events
        if seed:
            from preclinical.library import seed as seed_library

            added = seed_library(services)
            if any(added.values()):
                log.info("seeded %s", added)
        if recover:
            executor.recover()
        yield runtime
    finally:
        probes = runtime.extras.get("model_probes")
        if probes is not None:
            await probes.close()
        await executor.shutdown()
        await providers.aclose()
        await stack.aclose()
        if llm is not None:
            await llm.close()
        store_db.close_database()


def model_settings(settings: Settings) -> ModelSettings:
    return ModelSettings(
        base_url=settings.openai_base_url, api_key=settings.openai_api_key, tester_model=settings.tester_model,
        grader_model=settings.grader_model, generator_model=settings.generator_model or settings.tester_model,
        tester_temperature=settings.tester_temperature, grader_temperature=settings.grader_temperature,
        timeout_s=settings.llm_timeout_s, structured_mode=settings.structured_mode, max_tokens=settings.llm_max_tokens,
        **{f"{role}_{part}": getattr(settings, f"{role}_{part}")
           for role in ("tester", "grader", "generator") for part in ("base_url", "api_key")},
    )

"""Scenario runs claimed one at a time (the workers' leases), the same on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from preclinical.library import DEMO_AGENT_ID
from preclinical.store import leases
from preclinical.store import runs as store
from preclinical.store.db import database
from preclinical.store.models import Agent, Scenario, ScenarioRun
from tests.conftest import use_store


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store_kind(request):
    yield from use_store(request, request.param)


@pytest.fixture
def pending(runtime):
    scenario = Scenario.select().where(Scenario.is_active == True).first()  # noqa: E712
    _, rows = store.create_run(runtime.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                               scenario_ids=[scenario.scenario_id], options={"concurrency_limit": 1},
                               owner_id=leases.QUEUE_OWNER)
    return rows[0].id


def test_a_live_owner_keeps_its_scenario_run_until_its_lease_expires(runtime, pending):
    a, b = "elsewhere:101:aaaa", "elsewhere:102:bbbb"  # processes on another machine: only the lease tells
    assert leases.claim_unit(pending, a)  # taken from the queue
    assert not leases.claim_unit(pending, b)
    assert leases.renew_units(a, [pending]) == {pending}
    assert leases.renew_units(b, [pending]) == set()  # b holds nothing
    assert ScenarioRun.get_by_id(pending).owner_id == a
    database.execute_sql("UPDATE scenario_run SET lease_expires_at = ? WHERE id = ?",
                         ("2000-01-01 00:00:00", pending))  # a stopped renewing long ago
    assert leases.claim_unit(pending, b)
    assert ScenarioRun.get_by_id(pending).owner_id == b


def test_a_dead_process_on_this_machine_loses_its_claim_at_once(runtime, pending):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:dead"
    assert leases.claim_unit(pending, dead)
    assert leases.claim_unit(pending, leases.new_owner_id())


def test_a_finished_scenario_run_cannot_be_claimed(runtime, pending):
    store.set_status(runtime.services, pending, "running")
    store.set_status(runtime.services, pending, "passed")
    assert not leases.claim_unit(pending, leases.new_owner_id())

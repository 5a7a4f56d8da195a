"""One owner per scenario run, the same on both stores: a live owner keeps it, a gone one loses it."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest

from preclinical.library import DEMO_AGENT_ID
from preclinical.store import leases
from preclinical.store import runs as store
from preclinical.store.models import Agent, Scenario, ScenarioRun
from tests.conftest import use_store


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store_kind(request):
    yield from use_store(request, request.param)


@pytest.fixture
def pending(runtime):
    scenario = Scenario.select().where(Scenario.is_active == True).first()  # noqa: E712
    _, rows = store.create_run(runtime.services, agent=Agent.get_by_id(DEMO_AGENT_ID),
                               scenario_ids=[scenario.scenario_id], options={"concurrency_limit": 1})
    return rows[0].id


def test_a_live_owner_keeps_its_scenario_run_until_its_lease_expires(runtime, pending):
    svc = runtime.services
    a, b = "elsewhere:101:aaaa", "elsewhere:102:bbbb"  # processes on another machine: only the lease tells
    assert leases.claim(svc, pending, a, lease_s=30)
    assert not leases.claim(svc, pending, b, lease_s=30)
    assert leases.renew(svc, a, [pending], lease_s=30) == {pending}
    assert leases.renew(svc, b, [pending], lease_s=30) == set()  # b holds nothing
    row = ScenarioRun.get_by_id(pending)
    assert row.owner == a and row.lease_expires_at > svc.now()
    svc.now.current += timedelta(seconds=31)  # a stops renewing: its lease runs out
    assert leases.claim(svc, pending, b, lease_s=30)
    assert ScenarioRun.get_by_id(pending).owner == b


def test_a_dead_process_on_this_machine_loses_its_claim_at_once(runtime, pending):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:dead"
    assert leases.claim(runtime.services, pending, dead, lease_s=3600)
    assert leases.claim(runtime.services, pending, leases.new_owner(), lease_s=30)


def test_a_finished_scenario_run_cannot_be_claimed(runtime, pending):
    store.set_status(runtime.services, pending, "running")
    store.set_status(runtime.services, pending, "passed")
    assert not leases.claim(runtime.services, pending, leases.new_owner())
